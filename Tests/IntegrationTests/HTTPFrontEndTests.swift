import Foundation
import Testing

/// The HTTP front-end with the real binary on 127.0.0.1: status codes, sessions sharing backends,
/// eviction of a client that does not read, cancellation on DELETE, shutdown, and interop with the
/// official Python SDK's Streamable HTTP and SSE clients.
@Suite(.serialized)
struct HTTPFrontEndTests {
    static let initialize = #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#

    @Test func statusCodes() async throws {
        let dir = try Paths.temporaryDirectory()
        let http = try HTTPHost(config: try writeConfig(["f": fakeServer(name: "f")], in: dir), extra: ["--max-body-bytes", "2000"])
        let session = try await http.initialize()

        #expect(try await http.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, session: session).status == 202)
        let call = try await http.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"f__echo","arguments":{"text":"hi"}}}"#, session: session)
        #expect(call.status == 200)
        #expect(((call.json?["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String == "hi")

        let noSession = try await http.post(#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#, session: nil)
        #expect(noSession.status == 400)
        #expect(try await http.post(#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#, session: "no-such-session").status == 404)
        let badVersion = try await http.post(#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#, session: session, extra: ["MCP-Protocol-Version": "1999-01-01"])
        #expect(badVersion.status == 400)
        #expect(try await http.post(#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#, session: session, extra: ["MCP-Protocol-Version": "2025-06-18"]).status == 200)
        // A pretty-printed message (line breaks between tokens) still reaches a line-based backend whole.
        let pretty = try await http.post("{\n  \"jsonrpc\": \"2.0\",\r\n  \"id\": 10,\n  \"method\": \"tools/call\",\n  \"params\": {\"name\": \"f__echo\", \"arguments\": {\"text\": \"a\\nb\"}}\n}", session: session)
        #expect(((pretty.json?["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String == "a\nb", "\(pretty.body)")
        let malformed = try await http.post("{nope", session: session)
        #expect(malformed.status == 400)
        #expect((malformed.json?["error"] as? [String: Any])?["code"] as? Int == -32700)

        let evil = try await http.post(#"{"jsonrpc":"2.0","id":6,"method":"ping"}"#, session: session, extra: ["Origin": "https://evil.example"])
        #expect(evil.status == 403)
        #expect(try await http.post(#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#, session: session, extra: ["Origin": "http://localhost:5173"]).status == 200)

        let put = try await http.send("PUT", "/mcp", headers: HTTPHost.mcpHeaders, body: "{}")
        #expect(put.status == 405)
        #expect(put.header("Allow") == "GET, POST, DELETE")
        let big = try await http.post(#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"f__echo","arguments":{"text":""# + String(repeating: "x", count: 3000) + #""}}}"#, session: session)
        #expect(big.status == 413)
        #expect(try await http.send("GET", "/nowhere").status == 404)
        #expect(try await http.send("GET", "/mcp", headers: ["Accept": "application/json", "Mcp-Session-Id": session]).status == 406)

        #expect(try await http.send("DELETE", "/mcp", headers: ["Mcp-Session-Id": session]).status == 200)
        #expect(try await http.post(#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#, session: session).status == 404)

        let health = try await http.send("GET", "/health")
        let document = try #require(health.json)
        #expect(document["status"] as? String == "ok")
        #expect(document["backends_configured"] as? Int == 1)
        #expect(document["backends_connected"] as? Int == 1)
        #expect(document["active_clients"] as? Int == 0)
        // Started and answering nothing right now: "idle" (ready with nothing in flight).
        #expect(((document["backends"] as? [String: Any])?["f"] as? [String: Any])?["state"] as? String == "idle")
        let metrics = try await http.send("GET", "/metrics")
        #expect(metrics.body.contains(#"mcp_host_requests_total{method="tools/call",outcome="ok"} 2"#), "\(metrics.body.prefix(2000))")
        #expect(metrics.body.contains("mcp_host_request_duration_seconds_bucket"))
        #expect(metrics.body.contains(#"mcp_host_backend_state{backend="f",state="idle"} 1"#))
        http.host.process.terminate()
        #expect(try http.host.waitForExit() == 0)
    }

    @Test func sessionsAreCapped() async throws {
        let http = try HTTPHost(config: try writeConfig([:], in: try Paths.temporaryDirectory()), extra: ["--max-sessions", "2"])
        let first = try await http.initialize()
        _ = try await http.initialize()
        let refused = try await http.post(Self.initialize, session: nil)
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "5")
        #expect(try await http.send("DELETE", "/mcp", headers: ["Mcp-Session-Id": first]).status == 200)
        #expect(try await http.post(Self.initialize, session: nil).status == 200, "an ended session frees its place")
        http.host.process.terminate()
        try http.host.waitForExit()
    }

    @Test func bearerTokensAreRequiredWhenConfigured() async throws {
        let dir = try Paths.temporaryDirectory()
        let http = try HTTPHost(config: try writeConfig([:], in: dir), environment: ["MCP_HOST_AUTH_TOKEN": "s3cret"])
        let none = try await http.post(Self.initialize, session: nil)
        #expect(none.status == 401)
        #expect(none.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(try await http.post(Self.initialize, session: nil, extra: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(try await http.post(Self.initialize, session: nil, extra: ["Authorization": "Bearer s3cret"]).status == 200)
        http.host.process.terminate()
        try http.host.waitForExit()
    }

    @Test func nonLoopbackBindIsRefusedWithoutTokensOrInsecure() throws {
        let result = try run(Paths.host, ["--plugins", Paths.pluginsDir, "--config", try writeConfig([:], in: try Paths.temporaryDirectory()),
                                          "--http", "0.0.0.0:0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("refusing to listen on non-loopback address 0.0.0.0"), "\(result.stderr)")
    }

    @Test func eightSessionsShareOneProcessPerBackend() async throws {
        let dir = try Paths.temporaryDirectory()
        let marker = "mcph-share-\(UUID().uuidString.prefix(8))"
        var a = fakeServer(name: "a"), b = fakeServer(name: "b")
        a["args"] = ["-u", Paths.fakeBackend, "\(marker)-a"]
        b["args"] = ["-u", Paths.fakeBackend, "\(marker)-b"]
        let http = try HTTPHost(config: try writeConfig(["a": a, "b": b], in: dir))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<8 {
                group.addTask {
                    let session = try await http.initialize()
                    for server in ["a", "b"] {
                        let reply = try await http.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(server)__echo","arguments":{"text":"\#(client)"}}}"#, session: session)
                        let text = ((reply.json?["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String
                        #expect(text == "\(client)", "client \(client) got its own answer from \(server)")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(processes(containing: "\(marker)-a", excludingSupervisors: true).count == 1)
        #expect(processes(containing: "\(marker)-b", excludingSupervisors: true).count == 1)
        let health = try #require(try await http.send("GET", "/health").json)
        #expect(health["active_clients"] as? Int == 8)
        http.host.process.terminate()
        #expect(try http.host.waitForExit() == 0)
        #expect(waitForNoProcesses(containing: marker).isEmpty)
    }

    @Test func aBackendRequestIsNotSentToAGuessedClient() async throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let http = try HTTPHost(config: try writeConfig(["f": fakeServer(name: "f", log: log)], in: dir))
        let first = try await http.initialize(), second = try await http.initialize()
        // Started first, so that the slow call is surely in flight (not waiting for a cold start
        // it would share with the sampling call) when the backend asks.
        _ = try await http.post(#"{"jsonrpc":"2.0","id":0,"method":"tools/call","params":{"name":"f__echo","arguments":{"text":"warm"}}}"#, session: second)
        // Both sessions have a call in flight on the same backend when it asks for sampling.
        // Long enough to be still in flight on a loaded machine; the test does not wait for it.
        let slow = Task { try await http.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"f__slow","arguments":{"ms":30000}}}"#, session: second) }
        // In flight once the backend has it (a busy machine may take a while to send the POST).
        _ = try await waitFor("the slow call to reach the backend", timeout: 20) {
            try loggedMessages(log).first { ($0["params"] as? [String: Any])?["name"] as? String == "slow" }
        }
        let reply = try await http.post(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"f__sample","arguments":{"prompt":"secret"}}}"#, session: first)
        let text = ((reply.json?["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String ?? ""
        #expect(text.contains("2 clients have requests in flight on this backend"), "\(reply.body)")
        http.host.process.terminate()
        try http.host.waitForExit()
        _ = try? await slow.value // ended with the host
    }

    /// A second request with the id of one in flight is answered at once with -32600; the first
    /// keeps its answer (before: the second took over the first's answer path and the first hung).
    @Test func aDuplicateIDInFlightIsAnsweredAtOnceAndTheFirstIsUnharmed() async throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/backend.log"
        let http = try HTTPHost(config: try writeConfig(["f": fakeServer(name: "f", log: log)], in: dir), extra: ["--request-timeout", "10"])
        let session = try await http.initialize()
        let first = Task {
            try await http.post(#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"f__slow","arguments":{"ms":2500,"tag":"first"}}}"#, session: session)
        }
        // The first call is surely in flight once the backend has it (a busy machine may take a
        // while to get the POST out and start the backend).
        let deadline = Date().addingTimeInterval(20)
        while try !loggedMessages(log).contains(where: { ($0["params"] as? [String: Any]).flatMap { $0["arguments"] as? [String: Any] }?["tag"] as? String == "first" }) {
            guard Date() < deadline else { throw TestFailure("the first call did not reach the backend within 20 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let started = Date()
        let duplicate = try await http.post(#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"f__echo","arguments":{"text":"second"}}}"#, session: session)
        let error = duplicate.json?["error"] as? [String: Any]
        #expect(error?["code"] as? Int == -32600, "\(duplicate.status) \(duplicate.body)")
        #expect(((error?["message"] as? String) ?? "").contains("id 5 is already in use by a request in flight in this session"))
        #expect(duplicate.json?["id"] as? Int == 5)
        // The first call takes 2.5 s from the moment the backend had it: an answer within 2 s came
        // while it was still in flight (a busy machine may add a second of its own).
        #expect(Date().timeIntervalSince(started) < 2, "answered at once, not after the first")
        let answer = try await first.value
        let text = ((answer.json?["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String
        #expect(text == "slow first", "\(answer.status) \(answer.body)")
        // Once answered, the id may be used again.
        let again = try await http.post(#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"f__echo","arguments":{"text":"again"}}}"#, session: session)
        #expect(again.body.contains("again"))
        http.host.process.terminate()
        try http.host.waitForExit()
    }

    @Test func aBackendIsSubscribedOnceForManyClients() async throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let http = try HTTPHost(config: try writeConfig(["f": fakeServer(name: "f", log: log)], in: dir))
        let subscribe = #"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"fake://f/readme"}}"#
        let a = try await http.initialize(), b = try await http.initialize(), c = try await http.initialize()
        for session in [a, b, c] { #expect(try await http.post(subscribe, session: session).status == 200) }
        let methods = { try loggedMessages(log).compactMap { $0["method"] as? String } }
        #expect(try methods().filter { $0 == "resources/subscribe" }.count == 1, "subscribed on the backend once")
        // Two clients leave (one by DELETE, one by unsubscribing): the backend stays subscribed.
        #expect(try await http.send("DELETE", "/mcp", headers: ["Mcp-Session-Id": a]).status == 200)
        _ = try await http.post(#"{"jsonrpc":"2.0","id":2,"method":"resources/unsubscribe","params":{"uri":"fake://f/readme"}}"#, session: b)
        #expect(try methods().filter { $0 == "resources/unsubscribe" }.count == 0)
        // The last one leaves: the backend is unsubscribed.
        #expect(try await http.send("DELETE", "/mcp", headers: ["Mcp-Session-Id": c]).status == 200)
        _ = try await waitFor("the backend to be unsubscribed") { try methods().contains("resources/unsubscribe") ? true : nil }
        http.host.process.terminate()
        try http.host.waitForExit()
    }

    @Test func deleteCancelsTheSessionsInFlightRequest() async throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let http = try HTTPHost(config: try writeConfig(["f": fakeServer(name: "f", log: log)], in: dir))
        let session = try await http.initialize()
        let pending = Task {
            try await http.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"f__slow","arguments":{"ms":20000}}}"#, session: session)
        }
        let backendID = try await waitFor("the call to reach the backend") {
            try loggedMessages(log).first { $0["method"] as? String == "tools/call" }?["id"]
        }
        #expect(try await http.send("DELETE", "/mcp", headers: ["Mcp-Session-Id": session]).status == 200)
        let cancel = try await waitFor("the backend to see notifications/cancelled") {
            try loggedMessages(log).first { $0["method"] as? String == "notifications/cancelled" }
        }
        #expect(sameID((cancel["params"] as? [String: Any])?["requestId"], backendID as Any))
        let ended = try await pending.value
        #expect(ended.status == 204, "the POST ends without an answer once its session is gone")
        http.host.process.terminate()
        try http.host.waitForExit()
    }

    @Test func aClientThatStopsReadingIsEvictedWhileOthersWork() async throws {
        let dir = try Paths.temporaryDirectory()
        let http = try HTTPHost(config: try writeConfig(["f": fakeServer(name: "f")], in: dir))
        // A legacy SSE client that opens its stream, initializes, and then never reads again.
        let stalled = try StalledClient(port: http.port, request: "GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        let prelude = stalled.peek(until: "\n\n")
        let endpoint = try #require(prelude.range(of: #"/messages\?session_id=[0-9a-f]+"#, options: .regularExpression).map { String(prelude[$0]) })
        #expect(try await http.send("POST", endpoint, headers: ["Content-Type": "application/json"], body: Self.initialize).status == 202)
        #expect(try await http.send("POST", endpoint, headers: ["Content-Type": "application/json"], body: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).status == 202)

        // Another client makes the backend broadcast far more log messages (12.5 MB) than the stalled
        // one can take, more than socket buffers hold, so its queue must grow past the bound.
        let session = try await http.initialize()
        let spam = try await http.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"f__spam","arguments":{"count":5000,"size":2500}}}"#, session: session)
        #expect(spam.status == 200)
        _ = try await waitFor("the stalled client to be evicted", timeout: 30) { http.host.stderr.contains("evicting a session") ? true : nil }
        let echo = try await http.post(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"f__echo","arguments":{"text":"unaffected"}}}"#, session: session)
        #expect(echo.body.contains("unaffected"))
        let health = try #require(try await http.send("GET", "/health").json)
        #expect(health["active_clients"] as? Int == 1)
        #expect(try await http.send("GET", "/metrics").body.contains("mcp_host_session_evictions_total 1"))
        http.host.process.terminate()
        try http.host.waitForExit()
    }

    @Test func sigtermWithARequestInFlightExitsCleanly() async throws {
        let dir = try Paths.temporaryDirectory()
        let marker = "4\(Int.random(in: 100_000...999_999)).\(Int.random(in: 100...999))"
        var server = fakeServer(name: "g")
        server["command"] = "sh"
        server["args"] = ["-c", "sleep \(marker) & exec python3 -u \"$0\"", Paths.fakeBackend]
        let http = try HTTPHost(config: try writeConfig(["g": server], in: dir), extra: ["--shutdown-timeout", "1"])
        let session = try await http.initialize()
        let pending = Task {
            try await http.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"g__slow","arguments":{"ms":30000}}}"#, session: session)
        }
        _ = try await waitFor("the grandchild to run") { processes(containing: "sleep \(marker)").isEmpty ? nil : true }
        kill(http.host.process.processIdentifier, SIGTERM)
        #expect(try http.host.waitForExit(timeout: 15) == 0)
        let reply = try await pending.value
        #expect((reply.json?["error"] as? [String: Any])?["code"] as? Int == -32002, "\(reply.status) \(reply.body)")
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty)
    }

    @Test(arguments: ["http", "sse"])
    func pythonSDKClientsListAndCallTools(_ mode: String) async throws {
        let python = Paths.sdkPython
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("no Python with the MCP SDK at \(python): run scripts/test or set MCP_HOST_TEST_PYTHON")
        }
        let dir = try Paths.temporaryDirectory()
        let http = try HTTPHost(config: try writeConfig(["example": ["command": Paths.exampleServer], "fake": fakeServer(name: "fake")], in: dir))
        let calls: [[Any]] = [["example__add", ["a": 20, "b": 22]], ["fake__echo", ["text": "over \(mode)"]], ["fake__progress", ["steps": 2, "ms": 10]],
                              ["fake__sample", ["prompt": mode]]]
        let callsJSON = String(decoding: try JSONSerialization.data(withJSONObject: calls), as: UTF8.self)
        let url = http.base + (mode == "http" ? "/mcp" : "/sse")
        let result = try run(python, [Paths.pythonDir + "/sdk_client.py", mode, url, callsJSON])
        guard result.status == 0, let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("sdk_client \(mode) failed (\(result.status)):\n\(result.stdout)\n\(result.stderr.suffix(3000))\nhost:\n\(http.host.stderr.suffix(2000))")
        }
        let tools = report["tools"] as? [String] ?? []
        #expect(tools.contains("example__add") && tools.contains("fake__echo"), "\(tools)")
        let results = report["calls"] as? [[String: Any]] ?? []
        #expect(results.map { $0["text"] as? String } == ["42", "over \(mode)", "progress ", "sampled: echo of \(mode)"])
        http.host.process.terminate()
        #expect(try http.host.waitForExit() == 0)
    }
}
