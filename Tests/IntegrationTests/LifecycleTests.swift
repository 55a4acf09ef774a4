import Foundation
import Testing

/// No process outlives the host, and one backend's failure touches only its own requests.
@Suite(.serialized)
struct LifecycleTests {
    /// A backend that forks a grandchild (`sleep` with a unique duration as its marker) and then
    /// execs the fake server.
    private func forkingBackend(marker: String, log: String? = nil) -> [String: Any] {
        var server = fakeServer(name: "g", log: log)
        server["command"] = "sh"
        server["args"] = ["-c", "sleep \(marker) & exec python3 -u \"$0\"", Paths.fakeBackend]
        return server
    }

    /// Waits until the backend logging to `log` has received a tools/call.
    private func awaitCall(in log: String) throws {
        _ = try waitFor("the call to reach the backend") { try loggedMessages(log).first { $0["method"] as? String == "tools/call" } }
    }

    private func uniqueMarker() -> String { "4\(Int.random(in: 100_000...999_999)).\(Int.random(in: 100...999))" }

    /// Starts a host whose backend forks, and returns it with the backend's pid once it runs.
    private func startForking(marker: String) throws -> (HostProcess, Int32) {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["g": forkingBackend(marker: marker)], in: dir)
        try host.request(1, "tools/call", ["name": "g__pid", "arguments": [:]])
        let pid = try #require(firstText(try host.response(id: 1)).flatMap { Int32($0) })
        #expect(!processes(containing: "sleep \(marker)").isEmpty, "the grandchild runs")
        return (host, pid)
    }

    @Test func stdinEOFLeavesNoProcessBehind() throws {
        let marker = uniqueMarker()
        let (host, backendPID) = try startForking(marker: marker)
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "grandchild survived the host")
        #expect(kill(backendPID, 0) != 0, "backend survived the host")
    }

    @Test func kill9OfTheHostLeavesNoProcessBehind() throws {
        let marker = uniqueMarker()
        let (host, backendPID) = try startForking(marker: marker)
        kill(host.process.processIdentifier, SIGKILL)
        try host.waitForExit()
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "grandchild survived kill -9 of the host")
        let deadline = Date().addingTimeInterval(10)
        while kill(backendPID, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(kill(backendPID, 0) != 0, "backend survived kill -9 of the host")
    }

    @Test func sigtermWithARequestInFlightExitsCleanly() throws {
        let marker = uniqueMarker()
        let (host, _) = try startForking(marker: marker)
        try host.request(2, "tools/call", ["name": "g__slow", "arguments": ["ms": 30000]])
        Thread.sleep(forTimeInterval: 0.3)
        kill(host.process.processIdentifier, SIGTERM)
        #expect(try host.waitForExit(timeout: 15) == 0)
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty)
        // The in-flight request was answered with an error rather than dropped.
        let response = try host.response(id: 2, timeout: 1)
        #expect((response["error"] as? [String: Any])?["code"] as? Int == -32002)
    }

    @Test func backendCrashFailsOnlyItsRequestsAndRestarts() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let host = try HostProcess.initialized(["f": fakeServer(name: "f", log: log), "ok": fakeServer(name: "ok")], in: dir)
        try host.request(1, "tools/call", ["name": "f__slow", "arguments": ["ms": 3000]])
        try awaitCall(in: log)
        try host.request(2, "tools/call", ["name": "f__crash", "arguments": [:]])
        for id in [1, 2] {
            let error = try #require(try host.response(id: id)["error"] as? [String: Any])
            #expect(error["code"] as? Int == -32000)
            #expect((error["message"] as? String)?.contains("backend 'f'") == true, "\(error)")
            #expect((error["message"] as? String)?.contains("status 3") == true, "\(error)")
        }
        try host.request(3, "tools/call", ["name": "ok__echo", "arguments": ["text": "still here"]])
        #expect(firstText(try host.response(id: 3)) == "still here")
        try host.request(4, "tools/call", ["name": "f__echo", "arguments": ["text": "restarted"]])
        #expect(firstText(try host.response(id: 4)) == "restarted")
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func backendGarbageFailsItsInFlightRequests() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let host = try HostProcess.initialized(["f": fakeServer(name: "f", log: log)], in: dir)
        try host.request(1, "tools/call", ["name": "f__slow", "arguments": ["ms": 3000]])
        try awaitCall(in: log)
        try host.request(2, "tools/call", ["name": "f__garbage", "arguments": [:]])
        for id in [1, 2] {
            let error = try #require(try host.response(id: id, timeout: 5)["error"] as? [String: Any])
            #expect((error["message"] as? String)?.contains("backend 'f' wrote invalid JSON-RPC") == true, "\(error)")
        }
        try host.request(3, "tools/call", ["name": "f__echo", "arguments": ["text": "fresh"]])
        #expect(firstText(try host.response(id: 3)) == "fresh")
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func backendThatCannotStartIsReportedAndOthersWork() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["broken": ["command": "/nonexistent/mcp-server"], "ok": fakeServer(name: "ok")], in: dir)
        try host.request(1, "tools/call", ["name": "broken__x", "arguments": [:]])
        let error = try #require(try host.response(id: 1)["error"] as? [String: Any])
        let message = error["message"] as? String ?? ""
        #expect(message.contains("backend 'broken' failed to start"), "\(message)")
        #expect(message.contains("/nonexistent/mcp-server"), "the reason names the command: \(message)")
        // The list still answers, with the healthy backend's tools.
        try host.request(2, "tools/list")
        let tools = ((try host.response(id: 2)["result"] as? [String: Any])?["tools"] as? [[String: Any]]) ?? []
        #expect(tools.contains { $0["name"] as? String == "ok__echo" })
        // While backing off, the next call fails at once with the reason.
        try host.request(3, "tools/call", ["name": "broken__x", "arguments": [:]])
        let again = try #require(try host.response(id: 3, timeout: 2)["error"] as? [String: Any])
        #expect((again["message"] as? String)?.contains("next attempt in") == true)
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func withoutPluginsAStdioBackendReportsTheMissingTransport() throws {
        let dir = try Paths.temporaryDirectory()
        let empty = dir + "/plugins.d"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let config = try writeConfig(["f": fakeServer(name: "f")], in: dir)
        let host = try HostProcess(arguments: ["--plugins", empty, "--config", config])
        try host.initialize()
        try host.request(1, "tools/call", ["name": "f__echo", "arguments": ["text": "x"]])
        let error = try #require(try host.response(id: 1)["error"] as? [String: Any])
        #expect((error["message"] as? String)?.contains("no transport 'stdio'") == true, "\(error)")
        try host.request(2, "ping")
        #expect(try host.response(id: 2)["result"] != nil)
        try host.request(3, "tools/list")
        #expect(((try host.response(id: 3)["result"] as? [String: Any])?["tools"] as? [Any])?.isEmpty == true)
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }
}
