@testable import Host
import Testing

/// RouteMemo: bounded by count and by name size, keyed by method, emptied by `invalidate`, and
/// never storing an answer computed across an invalidation.
@Suite struct RouteMemoTests {
    @Test func remembersPerMethodAndForgetsOnInvalidate() {
        let memo = RouteMemo()
        let answer = RouteMemo.Answer(backend: "b", original: "t", exposed: "b__t")
        memo.remember(answer, for: "tools/call", .tool, "b__t", generation: memo.generation)
        #expect(memo.lookup("tools/call", .tool, "b__t")?.original == "t")
        #expect(memo.lookup("completion/complete", .tool, "b__t") == nil)
        #expect(memo.lookup("tools/call", .prompt, "b__t") == nil)
        let before = memo.generation
        memo.invalidate()
        #expect(memo.lookup("tools/call", .tool, "b__t") == nil)
        memo.remember(answer, for: "tools/call", .tool, "b__t", generation: before) // computed before the invalidation
        #expect(memo.lookup("tools/call", .tool, "b__t") == nil)
    }

    @Test func longNamesAreNeverKeptAndTheCountIsBounded() {
        let memo = RouteMemo()
        let long = "b__" + String(repeating: "x", count: RouteMemo.nameLimit)
        memo.remember(.init(backend: "b", original: String(long.dropFirst(3)), exposed: long), for: "tools/call", .tool, long, generation: memo.generation)
        #expect(memo.count == 0)
        for i in 0..<(RouteMemo.limit + 10) {
            memo.remember(.init(backend: "b", original: "t\(i)", exposed: "b__t\(i)"), for: "tools/call", .tool, "b__t\(i)", generation: memo.generation)
        }
        #expect(memo.count <= RouteMemo.limit)
        #expect(memo.lookup("tools/call", .tool, "b__t\(RouteMemo.limit + 9)") != nil)
    }
}
