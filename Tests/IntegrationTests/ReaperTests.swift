import Foundation
import Testing

/// The reaper with the real binary and real backend processes: an idle backend is shut down, its
/// items stay listed, the next call starts it again; nothing busy is ever reaped.
@Suite(.serialized)
struct ReaperTests {
    func server(_ name: String, idle: String) -> [String: Any] {
        var entry = fakeServer(name: name)
        entry["idle_timeout"] = idle
        return entry
    }

    func pid(_ host: HostProcess, _ id: String, backend: String = "f") throws -> Int32 {
        try host.request(id, "tools/call", ["name": "\(backend)__pid", "arguments": [:]])
        return try #require(firstText(try host.response(id: id)).flatMap { Int32($0) })
    }

    func alive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    func waitUntilGone(_ pid: Int32, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !alive(pid) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return !alive(pid)
    }

    @Test func anIdleBackendIsReapedAndTheNextCallStartsItAgain() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["f": server("f", idle: "2s"), "g": server("g", idle: "never")], in: dir)
        let first = try pid(host, "p1")
        let other = try pid(host, "g1", backend: "g")
        try host.request("list0", "tools/list") // the catalog knows f's tools before the reap
        _ = try host.response(id: "list0")
        #expect(waitUntilGone(first, within: 10), "the backend idle for 2 s was not reaped")
        #expect(host.stderr.contains("reaping the idle backend"))
        #expect(alive(other), "a backend with idle_timeout never was reaped")
        // Its items are still listed, without starting it.
        let startsBefore = host.stderr.components(separatedBy: "backend started").count
        try host.request("list", "tools/list")
        let tools = try #require((try host.response(id: "list")["result"] as? [String: Any])?["tools"] as? [[String: Any]])
        #expect(tools.contains { $0["name"] as? String == "f__echo" })
        #expect(host.stderr.components(separatedBy: "backend started").count == startsBefore, "listing started the reaped backend")
        // The next call starts it again and is answered normally.
        try host.request("again", "tools/call", ["name": "f__echo", "arguments": ["text": "back"]])
        #expect(firstText(try host.response(id: "again")) == "back")
        let second = try pid(host, "p2")
        #expect(second != first)
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
        #expect(!alive(second) && !alive(other))
    }

    @Test func aBackendWithACallInFlightOrASubscriptionIsNotReaped() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["f": server("f", idle: "1s")], in: dir)
        let before = try pid(host, "p1")
        // A call longer than the idle timeout: the backend stays for it.
        try host.request("slow", "tools/call", ["name": "f__slow", "arguments": ["ms": 3000, "tag": "x"]])
        #expect(firstText(try host.response(id: "slow")) == "slow x")
        #expect(try pid(host, "p2") == before, "reaped while a call was in flight")
        // A subscription holds it too.
        try host.request("sub", "resources/subscribe", ["uri": "fake://f/readme"])
        #expect(try host.response(id: "sub")["result"] != nil)
        Thread.sleep(forTimeInterval: 3)
        #expect(alive(before), "reaped while a client was subscribed")
        try host.request("unsub", "resources/unsubscribe", ["uri": "fake://f/readme"])
        _ = try host.response(id: "unsub")
        #expect(waitUntilGone(before, within: 10), "not reaped once the subscription ended")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    @Test func badIdleTimeoutsAreConfigErrors() throws {
        let dir = try Paths.temporaryDirectory()
        var bad = fakeServer(name: "b")
        bad["idle_timeout"] = "soon"
        var inverted = fakeServer(name: "c")
        inverted["min_idle_timeout"] = "10m"
        inverted["max_idle_timeout"] = "1m"
        let host = try HostProcess.initialized(["b": bad, "c": inverted, "f": server("f", idle: "adaptive")], in: dir)
        try host.request(1, "tools/call", ["name": "f__echo", "arguments": ["text": "ok"]])
        #expect(firstText(try host.response(id: 1)) == "ok")
        #expect(host.stderr.contains(#"server 'b': "idle_timeout""#), "\(host.stderr.suffix(2000))")
        #expect(host.stderr.contains(#"server 'c': "min_idle_timeout""#), "\(host.stderr.suffix(2000))")
        try host.request(2, "tools/call", ["name": "b__echo", "arguments": ["text": "no"]])
        #expect(try host.response(id: 2)["error"] != nil, "a server with a bad idle timeout is not run")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }
}
