import Testing
@testable import BenchSupport

@Suite struct ResponseScanTests {
    static let stream = Array((#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}"# + "\n"
        + #"{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"backend 'x' is unavailable"}}"# + "\n"
        + #"{"jsonrpc":"2.0","id":3,"result":{}}"# + "\n"
        + #"{"jsonrpc":"2.0","id":4,"error" :{"code":1}}"# + "\n"
        + #"{"jsonrpc":"2.0","id":5,""error":{"code":1}}"# + "\n").utf8)

    @Test func countsLinesAndErrorAnswers() {
        var scan = ResponseScan()
        scan.feed(Self.stream)
        #expect(scan.lines == 5)
        #expect(scan.errors == 2) // line 4 has a space before the colon: the host never writes that
    }

    @Test(arguments: [1, 2, 3, 7, 64])
    func chunkingChangesNothing(size: Int) {
        var scan = ResponseScan()
        var start = 0
        while start < Self.stream.count {
            let end = min(start + size, Self.stream.count)
            scan.feed(Array(Self.stream[start..<end]))
            start = end
        }
        #expect(scan.lines == 5)
        #expect(scan.errors == 2)
    }
}
