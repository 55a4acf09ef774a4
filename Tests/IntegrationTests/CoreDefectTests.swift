import Foundation
import Testing

/// Defects of the core found in review (issue 7), each reproduced with the real binary, the real
/// stdio plugin and the fake backend. Each test failed before its fix.
@Suite(.serialized)
struct CoreDefectTests {
    /// A fake backend entry with extra environment.
    func fake(_ name: String, log: String? = nil, _ env: [String: String] = [:]) -> [String: Any] {
        var server = fakeServer(name: name, log: log)
        var environment = server["env"] as! [String: String]
        for (k, v) in env { environment[k] = v }
        server["env"] = environment
        return server
    }

    /// Messages the backend received, from its log.
    func received(_ log: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func errorMessage(_ response: [String: Any]) -> String? {
        (response["error"] as? [String: Any])?["message"] as? String
    }

    // 1. A backend that exits between its initialize answer and the host marking it ready must not
    //    be left "ready" with a dead connection: the next call starts it again.
    @Test func backendExitingRightAfterItsStartIsStartedAgain() throws {
        let dir = try Paths.temporaryDirectory()
        let counter = dir + "/exits"
        let starts = 12
        try "\(starts)".write(toFile: counter, atomically: true, encoding: .utf8)
        let host = try HostProcess.initialized(["f": fake("f", ["FAKE_BACKEND_EXIT_AFTER_INIT": counter])], in: dir,
                                               extra: ["--request-timeout", "10"])
        // Each call starts the backend, which exits right after initialize: each gets an error.
        // Then the counter is used up and a call must be answered normally.
        var answered = false
        var errors: [String] = []
        for i in 0..<(starts + 3) {
            try host.request(i, "tools/call", ["name": "f__echo", "arguments": ["text": "hi"]])
            let response = try host.response(id: i)
            if firstText(response) == "hi" { answered = true; break }
            #expect(response["error"] != nil, "\(response)")
            errors.append(errorMessage(response) ?? "?")
        }
        #expect(answered, "the backend was never started again: \(errors)\n\(host.stderr.suffix(3000))")
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "0")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // 2. A backend's request to a client is void once its connection ends: the client is told, and
    //    a late answer never reaches the restarted process (which reuses the same request ids).
    @Test func lateAnswerToABackendRequestNeverReachesTheRestartedBackend() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess(config: try writeConfig(["f": fake("f")], in: dir))
        try host.request("init", "initialize", ["protocolVersion": "2025-06-18", "capabilities": ["sampling": [:]], "clientInfo": ["name": "c", "version": "1"]])
        _ = try host.response(id: "init")
        try host.send(["jsonrpc": "2.0", "method": "notifications/initialized"])
        try host.request("pid", "tools/call", ["name": "f__pid", "arguments": [:]])
        let pid = try #require(firstText(try host.response(id: "pid")).flatMap { Int32($0) })

        try host.request(1, "tools/call", ["name": "f__sample", "arguments": ["prompt": "first"]])
        let first = try host.next(where: { $0["method"] as? String == "sampling/createMessage" }).json
        let firstID = try #require(first["id"] as? String)
        kill(pid, SIGKILL)
        #expect(try host.response(id: 1)["error"] != nil, "the call in flight fails with the backend")
        let cancelled = try host.next(where: { $0["method"] as? String == "notifications/cancelled" }).json
        #expect((cancelled["params"] as? [String: Any])?["requestId"] as? String == firstID)

        // The restarted backend asks again, under the same backend-side id ("s-1").
        try host.request(2, "tools/call", ["name": "f__sample", "arguments": ["prompt": "second"]])
        let second = try host.next(where: { $0["method"] as? String == "sampling/createMessage" }).json
        let secondID = try #require(second["id"] as? String)
        #expect(secondID != firstID)
        // The late answer to the first request, then the real answer to the second.
        try host.send(["jsonrpc": "2.0", "id": firstID, "result": ["role": "assistant", "content": ["type": "text", "text": "stale"], "model": "m"]])
        try host.send(["jsonrpc": "2.0", "id": secondID, "result": ["role": "assistant", "content": ["type": "text", "text": "fresh"], "model": "m"]])
        #expect(firstText(try host.response(id: 2)) == "sampled: fresh")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // 3. A cancel for a request that is still waiting for its backend to start drops it: the
    //    backend never sees the call and the client gets no answer for it.
    @Test func cancelWhileTheBackendStartsDropsTheCall() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let host = try HostProcess.initialized(["f": fake("f", log: log, ["FAKE_BACKEND_INIT_DELAY_MS": "800"])], in: dir)
        try host.request(1, "tools/call", ["name": "f__echo", "arguments": ["text": "cancelled"]])
        Thread.sleep(forTimeInterval: 0.2)
        try host.send(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 1, "reason": "changed my mind"]])
        try host.request(2, "tools/call", ["name": "f__echo", "arguments": ["text": "kept"]])
        #expect(firstText(try host.response(id: 2)) == "kept")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(!host.output.contains { $0.contains("\"cancelled\"") || $0.contains(#""id":1,"#) || $0.contains(#""id":1}"#) },
                "the cancelled call was answered: \(host.output)")
        let calls = received(log).filter { $0["method"] as? String == "tools/call" }
        #expect(calls.count == 1, "the backend saw \(calls.count) calls")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // 4. A subscription whose session ends while the subscribe waits for the backend's start is
    //    not left behind: the backend is never subscribed for a session that is gone.
    @Test func subscribeRacingTheSessionsEndLeavesNothing() async throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let config = try writeConfig(["f": fake("f", log: log, ["FAKE_BACKEND_INIT_DELAY_MS": "800"])], in: dir)
        let http = try HTTPHost(config: config)
        let session = try await http.initialize()
        // A cold backend with a slow start: the subscribe waits for it while the session ends.
        async let subscribed = try? http.post(#"{"jsonrpc":"2.0","id":5,"method":"resources/subscribe","params":{"uri":"fake://f/items/1"}}"#, session: session)
        try await Task.sleep(for: .milliseconds(300))
        let deleted = try await http.send("DELETE", "/mcp", headers: ["Mcp-Session-Id": session])
        #expect(deleted.status == 200 || deleted.status == 204)
        _ = await subscribed
        try await Task.sleep(for: .milliseconds(1500))
        let subscribes = received(log).filter { $0["method"] as? String == "resources/subscribe" }.count
        let unsubscribes = received(log).filter { $0["method"] as? String == "resources/unsubscribe" }.count
        #expect(subscribes == unsubscribes, "subscribed \(subscribes) times, unsubscribed \(unsubscribes) times")
        http.host.process.terminate()
    }

    // 5. A name that fits no configured server is unknown at once and starts no backend.
    @Test func mistypedNameStartsNothing() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let host = try HostProcess.initialized(["f": fake("f", log: log)], in: dir)
        try host.request(1, "tools/call", ["name": "zz__x", "arguments": [:]])
        let response = try host.response(id: 1)
        #expect(errorMessage(response)?.contains("Unknown tool 'zz__x'") == true)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(received(log).isEmpty, "a backend was started for a name it cannot own")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // 6. A hash-shortened tool name called on a fresh host (nothing listed yet) reaches the tool
    //    under its real name.
    @Test func shortenedNameWorksWithAColdCatalog() throws {
        let dir = try Paths.temporaryDirectory()
        let long = "a_tool_with_a_name_so_long_that_prefixing_it_with_the_server_name_goes_past_the_limit_of_128_characters_set_by_the_mcp_spec_xyz"
        let servers = ["f": fake("f", ["FAKE_BACKEND_EXTRA_TOOL": long])]
        let lister = try HostProcess.initialized(servers, in: dir)
        try lister.request(1, "tools/list")
        let tools = try #require((try lister.response(id: 1)["result"] as? [String: Any])?["tools"] as? [[String: Any]])
        let exposed = try #require(tools.first { ($0["description"] as? String)?.contains("The extra tool") == true }?["name"] as? String)
        #expect(exposed.utf8.count == 128 && exposed != "f__" + long)
        lister.closeStdin()
        try lister.waitForExit()

        let cold = try HostProcess.initialized(servers, in: dir)
        try cold.request(2, "tools/call", ["name": exposed, "arguments": [:]])
        #expect(firstText(try cold.response(id: 2)) == "extra " + long)
        cold.closeStdin()
        #expect(try cold.waitForExit() == 0)
    }

    // 7. Two backends exposing the same resource URI: the first by server name owns it; it is
    //    listed once and read from that backend.
    @Test func collidingNamesAreListedOnceAndRoutedToTheirOwner() throws {
        let dir = try Paths.temporaryDirectory()
        let logA = dir + "/a.log", logB = dir + "/b.log"
        // Same FAKE_BACKEND_NAME: the same resource URIs from both.
        let host = try HostProcess.initialized(["a": fake("a", log: logA, ["FAKE_BACKEND_NAME": "same"]),
                                                "b": fake("b", log: logB, ["FAKE_BACKEND_NAME": "same"])], in: dir)
        try host.request(1, "resources/list")
        let resources = try #require((try host.response(id: 1)["result"] as? [String: Any])?["resources"] as? [[String: Any]])
        #expect(resources.filter { $0["uri"] as? String == "fake://same/readme" }.count == 1, "\(resources)")
        try host.request(2, "resources/read", ["uri": "fake://same/readme"])
        #expect(try host.response(id: 2)["result"] != nil)
        #expect(received(logA).contains { $0["method"] as? String == "resources/read" })
        #expect(!received(logB).contains { $0["method"] as? String == "resources/read" })
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // 9. One client may not fill a shared backend: past the per-client cap it gets a clear error,
    //    and its requests within the cap are answered normally.
    @Test func perClientCapOnRequestsInFlight() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["f": fake("f")], in: dir, extra: ["--max-client-requests", "3"])
        try host.request("warm", "tools/call", ["name": "f__echo", "arguments": ["text": "x"]])
        _ = try host.response(id: "warm")
        for i in 0..<4 { try host.request(i, "tools/call", ["name": "f__slow", "arguments": ["ms": 700, "tag": "\(i)"]]) }
        let refused = try host.response(id: 3)
        #expect((refused["error"] as? [String: Any])?["code"] as? Int == -32003)
        #expect(errorMessage(refused)?.contains("3 requests in flight") == true)
        for i in 0..<3 { #expect(firstText(try host.response(id: i)) == "slow \(i)") }
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // 11. The deadline covers the whole request: routing (list loading) included.
    @Test func deadlineCoversListLoading() throws {
        let dir = try Paths.temporaryDirectory()
        // The resource lists take 2.5 s (within the list timeout), the read itself never ends.
        let host = try HostProcess.initialized(["f": fake("f", ["FAKE_BACKEND_RESOURCES_DELAY_MS": "2500", "FAKE_BACKEND_READ_DELAY_MS": "60000"])],
                                               in: dir, extra: ["--request-timeout", "3"])
        let start = Date()
        try host.request(1, "resources/read", ["uri": "fake://f/readme"])
        let response = try host.response(id: 1, timeout: 30)
        let elapsed = Date().timeIntervalSince(start)
        #expect(response["error"] != nil)
        // Before the fix: 2.5 s of routing, then a fresh 3 s deadline for the read (5.5 s). Now one
        // 3 s deadline for both (a margin for a loaded machine, still well below 5.5 s).
        #expect(elapsed < 4.5, "answered after \(elapsed) s with a 3 s request timeout")
        host.closeStdin()
        try host.waitForExit()
    }
}
