import Foundation
import Testing

/// The HTTP transport plugin (libmcph-http.so) against servers nobody here wrote: the official MCP
/// Python SDK's Streamable HTTP server (JSON and SSE answers) and its legacy HTTP+SSE server, run by
/// `python/http_backend.py` on 127.0.0.1, with the real mcp-host in front (stdio and HTTP front-ends).
/// Every test starts its own Python server on a free port and its own host, and kills both.
@Suite(.serialized)
struct HTTPTransportTests: StdioHostSuite {
    // MARK: - Helpers (end, stdioHost, call, failure, answers: StdioHostSuite)

    static func checkPrerequisites() throws { try HTTPTransportPrerequisites.check() }

    /// A host serving `servers` over HTTP on a free loopback port.
    func httpHost(_ servers: [String: Any], extra: [String] = [], environment: [String: String] = [:]) throws -> HTTPHost {
        try HTTPTransportPrerequisites.check()
        return try HTTPHost(config: try writeConfig(servers, in: try Paths.temporaryDirectory()), extra: extra, environment: environment)
    }

    /// Lists through a stdio host: the names (or URIs, for resources) of `method`'s items.
    func list(_ host: HostProcess, _ method: String, key: String, field: String = "name") throws -> [String] {
        let id = "list-\(UUID().uuidString.prefix(6))"
        try host.request(id, method)
        let items = (try host.response(id: id, timeout: 60)["result"] as? [String: Any])?[key] as? [[String: Any]] ?? []
        return items.compactMap { $0[field] as? String }
    }

    /// POSTs a tools/call to the HTTP front-end and returns every message of its answer (JSON or SSE).
    func httpCall(_ http: HTTPHost, session: String, id: Int, _ tool: String, _ arguments: [String: Any] = [:],
                  meta: [String: Any]? = nil) async throws -> (reply: HTTPHost.Reply, messages: [[String: Any]]) {
        var params: [String: Any] = ["name": tool, "arguments": arguments]
        if let meta { params["_meta"] = meta }
        let body = try JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params])
        let reply = try await http.post(String(decoding: body, as: UTF8.self), session: session)
        return (reply, sseMessages(reply.body))
    }

    /// The response (result or error) with `id` among `messages`.
    func response(in messages: [[String: Any]], id: Any) -> [String: Any]? {
        messages.first { ($0["result"] != nil || $0["error"] != nil) && sameID($0["id"], id) }
    }

    func progressNotifications(_ lines: [String], token: Any) -> [(index: Int, progress: Double, message: String?)] {
        lines.enumerated().compactMap { index, line in
            guard let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                  json["method"] as? String == "notifications/progress",
                  let params = json["params"] as? [String: Any], sameID(params["progressToken"], token),
                  let progress = params["progress"] as? Double else { return nil }
            return (index, progress, params["message"] as? String)
        }
    }

    // MARK: - Streamable HTTP: list and call, stdio and HTTP front-ends

    @Test(arguments: [false, true])
    func listAndCallThroughStdioAndHTTP(jsonResponse: Bool) async throws {
        let server = try PythonServer(jsonResponse ? ["--json-response"] : [])
        let servers: [String: Any] = ["remote": ["url": server.url]]

        let host = try stdioHost(servers)
        defer { end(host) }
        let tools = try list(host, "tools/list", key: "tools")
        for name in ["remote__echo", "remote__sleep", "remote__progress", "remote__ask", "remote__who"] {
            #expect(tools.contains(name), "\(name) missing from \(tools)")
        }
        let echo = try call(host, 1, "remote__echo", ["text": "über stdio ✓ \"quoted\"\nline"])
        #expect(firstText(echo) == "über stdio ✓ \"quoted\"\nline", "\(echo)")
        #expect(firstText(try call(host, 2, "remote__who")) == server.marker, "the answer came from this test's server")
        #expect(try list(host, "resources/list", key: "resources", field: "uri").contains("test://readme"))
        try host.request(3, "resources/read", ["uri": "test://readme"])
        let read = try host.response(id: 3, timeout: 60)
        let contents = ((read["result"] as? [String: Any])?["contents"] as? [[String: Any]])?.first?["text"] as? String
        #expect(contents == "read me from " + server.marker, "\(read)")
        #expect(try list(host, "prompts/list", key: "prompts").contains("remote__greet"))
        try host.request(4, "prompts/get", ["name": "remote__greet", "arguments": ["name": "Ada"]])
        let prompt = try host.response(id: 4, timeout: 60)
        #expect("\(prompt)".contains("Hello, Ada!"), "\(prompt)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)

        let http = try httpHost(servers)
        defer { end(http.host) }
        let session = try await http.initialize()
        let listed = try await http.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, session: session)
        let listedTools = ((response(in: sseMessages(listed.body), id: 1)?["result"] as? [String: Any])?["tools"] as? [[String: Any]] ?? [])
            .compactMap { $0["name"] as? String }
        #expect(listedTools.contains("remote__echo"), "\(listed.status) \(listed.body.prefix(2000))")
        let called = try await httpCall(http, session: session, id: 2, "remote__echo", ["text": "over http"])
        #expect(response(in: called.messages, id: 2).flatMap(firstText) == "over http", "\(called.reply.status) \(called.reply.body)")
        let who = try await httpCall(http, session: session, id: 3, "remote__who")
        #expect(response(in: who.messages, id: 3).flatMap(firstText) == server.marker)
        http.host.process.terminate()
        #expect(try http.host.waitForExit() == 0)
    }

    /// The official SDK's client drives mcp-host (over stdio, then over mcp-host's HTTP front-end),
    /// which drives the SDK's server over HTTP: tools, prompts and resources, a call, a progress
    /// call, and sampling back to the SDK client.
    @Test func sdkClientThroughMCPHostToAnSDKServer() throws {
        let server = try PythonServer()
        let config = try writeConfig(["remote": ["url": server.url]], in: try Paths.temporaryDirectory())
        let calls: [[Any]] = [["remote__echo", ["text": "sdk to sdk"]], ["remote__who", [:]], ["remote__progress", ["steps": 2]],
                              ["remote__ask", ["prompt": "hi there"]]]
        let callsJSON = String(decoding: try JSONSerialization.data(withJSONObject: calls), as: UTF8.self)
        let result = try run(Paths.sdkPython, [Paths.pythonDir + "/sdk_client.py", "stdio", Paths.host, Paths.pluginsDir, config, callsJSON])
        guard result.status == 0, let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("sdk_client failed (\(result.status)):\n\(result.stdout)\n\(result.stderr.suffix(3000))")
        }
        let tools = report["tools"] as? [String] ?? []
        #expect(Set(["remote__echo", "remote__ask", "remote__progress"]).isSubset(of: Set(tools)), "\(tools)")
        let texts = (report["calls"] as? [[String: Any]] ?? []).map { $0["text"] as? String }
        #expect(texts == ["sdk to sdk", server.marker, "done", "sampled: echo of hi there"], "\(report)")
        #expect((report["prompts"] as? [String])?.contains("remote__greet") == true)
        #expect((report["resources"] as? [String])?.contains("test://readme") == true)

        // The same client over mcp-host's Streamable HTTP front-end.
        let http = try HTTPHost(config: config)
        defer { end(http.host) }
        let overHTTP = try run(Paths.sdkPython, [Paths.pythonDir + "/sdk_client.py", "http", http.base + "/mcp", callsJSON])
        guard overHTTP.status == 0, let httpReport = try JSONSerialization.jsonObject(with: Data(overHTTP.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("sdk_client over HTTP failed (\(overHTTP.status)):\n\(overHTTP.stdout)\n\(overHTTP.stderr.suffix(3000))")
        }
        let httpTexts = (httpReport["calls"] as? [[String: Any]] ?? []).map { $0["text"] as? String }
        #expect(httpTexts == ["sdk to sdk", server.marker, "done", "sampled: echo of hi there"], "\(httpReport)")
        http.host.process.terminate()
        #expect(try http.host.waitForExit() == 0)
    }

    // MARK: - Concurrency

    @Test(arguments: [false, true])
    func fiftyConcurrentOneSecondCallsFinishUnderFiveSeconds(jsonResponse: Bool) throws {
        let server = try PythonServer(jsonResponse ? ["--json-response"] : [])
        let host = try stdioHost(["remote": ["url": server.url]])
        defer { end(host) }
        #expect(firstText(try call(host, "warm", "remote__echo", ["text": "warm"])) == "warm") // starts the backend
        let ids = (0..<50).map { "sleep-\($0)" }
        let start = Date()
        for id in ids { try host.request(id, "tools/call", ["name": "remote__sleep", "arguments": ["seconds": 1]]) }
        let answered = try answers(host, ids, since: start, timeout: 60)
        let elapsed = answered.values.map(\.seconds).max() ?? 99
        #expect(answered.values.allSatisfy { firstText($0.json) == "slept" && failure($0.json) == nil },
                "\(answered.values.map(\.json).filter { firstText($0) != "slept" }.prefix(3))")
        #expect(server.calls("sleep") == 50, "every call reached the server once")
        #expect(elapsed >= 1, "the calls really slept (\(elapsed) s)")
        #expect(elapsed < 5, "50 concurrent one-second calls took \(elapsed) s")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Progress and log messages from a POST's SSE answer

    @Test func progressFromAnSSEAnswerReachesTheCallerInOrder() async throws {
        let server = try PythonServer()
        let host = try stdioHost(["remote": ["url": server.url]])
        defer { end(host) }
        let before = host.everyLine.count
        let done = try call(host, 7, "remote__progress", ["steps": 3], meta: ["progressToken": "client-token-7"])
        #expect(firstText(done) == "done", "\(done)")
        let lines = Array(host.everyLine.dropFirst(before))
        let responseIndex = lines.firstIndex { line in
            guard let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return false }
            return json["result"] != nil && sameID(json["id"], 7)
        } ?? -1
        let progress = progressNotifications(lines, token: "client-token-7")
        #expect(progress.map(\.progress) == [1, 2, 3], "the client's own token, every step, in order: \(lines)")
        #expect(progress.map(\.message) == ["step 1", "step 2", "step 3"])
        #expect(progress.allSatisfy { $0.index < responseIndex }, "all before the response: \(lines)")
        let log = lines.firstIndex { $0.contains("notifications/message") && $0.contains("progress finished after 3 steps") }
        #expect(log.map { $0 < responseIndex } == true, "the log message arrives before the response: \(lines)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)

        // The same through the HTTP front-end, with a numeric token, on the POST's own SSE answer.
        let http = try httpHost(["remote": ["url": server.url]])
        defer { end(http.host) }
        let session = try await http.initialize()
        // The host puts log messages on the session's GET stream (only progress rides a POST's answer).
        let stream = try StreamingRequest(port: http.port, method: "GET", path: "/mcp", headers: ["Accept": "text/event-stream", "Mcp-Session-Id": session])
        #expect(try await waitFor("the GET stream to open", timeout: 30) { stream.status } == 200)
        let answer = try await httpCall(http, session: session, id: 8, "remote__progress", ["steps": 3], meta: ["progressToken": 99])
        let steps = answer.messages.filter { $0["method"] as? String == "notifications/progress" }
        #expect(steps.compactMap { ($0["params"] as? [String: Any])?["progress"] as? Double } == [1, 2, 3], "\(answer.reply.body)")
        #expect(steps.allSatisfy { sameID(($0["params"] as? [String: Any])?["progressToken"], 99) }, "\(answer.reply.body)")
        #expect(answer.messages.last.flatMap(firstText) == "done", "the response comes last: \(answer.reply.body)")
        let isLog: ([String: Any]) -> Bool = { $0["method"] as? String == "notifications/message" && "\($0)".contains("progress finished after 3 steps") }
        if !answer.messages.contains(where: isLog) {
            try stream.waitForMessage(timeout: 10, "the log message on the POST's answer or the GET stream", where: isLog)
        }
        stream.cancel()
        http.host.process.terminate()
        #expect(try http.host.waitForExit() == 0)
    }

    // MARK: - Legacy HTTP+SSE

    /// The SDK's legacy SSE server, named as such (`"type": "sse"`) and by its URL alone (the plugin
    /// falls back when the POST of initialize is refused).
    @Test(arguments: [true, false])
    func legacySSEServer(explicitType: Bool) throws {
        let server = try PythonServer(["--transport", "sse"])
        var entry: [String: Any] = ["url": server.sseURL]
        if explicitType { entry["type"] = "sse" }
        let host = try stdioHost(["old": entry])
        defer { end(host) }
        let tools = try list(host, "tools/list", key: "tools")
        #expect(tools.contains("old__echo"), "\(tools)\n\(host.stderr.suffix(3000))")
        #expect(firstText(try call(host, 1, "old__echo", ["text": "old school"])) == "old school")
        #expect(firstText(try call(host, 2, "old__who")) == server.marker)
        let before = host.everyLine.count
        #expect(firstText(try call(host, 3, "old__progress", ["steps": 3], meta: ["progressToken": "legacy-token"])) == "done")
        let progress = progressNotifications(Array(host.everyLine.dropFirst(before)), token: "legacy-token")
        #expect(progress.map(\.progress) == [1, 2, 3], "progress over the one legacy stream: \(host.everyLine.dropFirst(before))")
        if !explicitType {
            #expect(host.stderr.contains("legacy HTTP+SSE"), "the fallback is logged: \(host.stderr.suffix(3000))")
        }
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - The remote server restarts: its sessions are gone (404)

    /// A call in flight when the server dies gets an error, not a hang; the next call goes to the
    /// new process. With `--resumable` the answer stream carried event ids, so the plugin tries to
    /// resume it, and the restarted server (started at once) answers that GET with 404: the call
    /// was lost with the remote session.
    @Test(arguments: [false, true])
    func aRestartedServerIsReinitializedAndCallsInFlightFail(resumable: Bool) throws {
        let options = resumable ? ["--resumable", "--retry-ms", "500"] : []
        let first = try PythonServer(options)
        let host = try stdioHost(["remote": ["url": first.url]], extra: ["--request-timeout", "60"])
        defer { end(host) }
        #expect(firstText(try call(host, "who-1", "remote__who")) == first.marker)

        try host.request("inflight", "tools/call", ["name": "remote__sleep", "arguments": ["seconds": 600]])
        _ = try waitFor("the sleep call to reach the server", timeout: 30) { first.calls("sleep") == 1 ? true : nil }
        let killed = Date()
        first.stop()
        let second = try PythonServer(options, port: first.port)
        let inflight = try host.response(id: "inflight", timeout: 40)
        let error = failure(inflight) ?? ""
        #expect(error.contains("'remote'"), "an error naming the backend: \(inflight)")
        // The new process is up within a second or two and answers the old session with 404: the
        // loss is known then, not after a series of resumption attempts on the new session.
        let after = Date().timeIntervalSince(killed)
        #expect(after < 10, "answered \(after) s after the server died: \(error)\n\(host.stderr.suffix(2500))")

        let who = try call(host, "who-2", "remote__who")
        #expect(firstText(who) == second.marker, "the new process answered: \(who)\n\(host.stderr.suffix(3000))")
        #expect(second.marker != first.marker)
        #expect(firstText(try call(host, "echo-after", "remote__echo", ["text": "still here"])) == "still here")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// A restart while the host is idle: the next call meets a 404 for the old session id, and the
    /// plugin re-initializes (replaying the host's handshake) and retries it.
    @Test func theNextCallAfterARestartSucceeds() throws {
        let first = try PythonServer()
        let host = try stdioHost(["remote": ["url": first.url]])
        defer { end(host) }
        #expect(firstText(try call(host, 1, "remote__who")) == first.marker)
        first.stop()
        let second = try PythonServer(port: first.port)
        let who = try call(host, 2, "remote__who")
        #expect(failure(who) == nil, "\(who)\n\(host.stderr.suffix(3000))")
        #expect(firstText(who) == second.marker)
        // Transparently: the plugin re-initialized the session (and told the host), the host did not
        // have to restart the backend after a failure.
        #expect(host.stderr.contains("re-initialized"), "\(host.stderr.suffix(3000))")
        #expect(!host.stderr.contains("failed to start") && !host.stderr.contains("backend connection ended"), "\(host.stderr.suffix(3000))")
        #expect(firstText(try call(host, 3, "remote__echo", ["text": "again"])) == "again")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Sampling reaches exactly the client whose call caused it

    /// An HTTP front-end session whose client declares sampling (both clients do: B could take it).
    func samplingSession(_ http: HTTPHost) async throws -> String {
        let reply = try await http.post(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"sampling":{}},"clientInfo":{"name":"swift-test","version":"1"}}}"#, session: nil)
        guard reply.status == 200, let id = reply.header("Mcp-Session-Id") else { throw TestFailure("initialize failed: \(reply.status) \(reply.body)") }
        _ = try await http.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, session: id)
        return id
    }

    @Test func samplingReachesOnlyTheClientWhoseCallCausedIt() async throws {
        let server = try PythonServer()
        let http = try httpHost(["remote": ["url": server.url]])
        defer { end(http.host) }
        let a = try await samplingSession(http), b = try await samplingSession(http)
        // Warm the backend up so both calls below are in flight on one connection.
        _ = try await httpCall(http, session: a, id: 100, "remote__echo", ["text": "warm"])
        let sse = ["Accept": "text/event-stream"]
        let streamA = try StreamingRequest(port: http.port, method: "GET", path: "/mcp", headers: sse.merging(["Mcp-Session-Id": a]) { $1 })
        let streamB = try StreamingRequest(port: http.port, method: "GET", path: "/mcp", headers: sse.merging(["Mcp-Session-Id": b]) { $1 })
        for stream in [streamA, streamB] {
            #expect(try await waitFor("a GET stream to open", timeout: 30) { stream.status } == 200, "\(stream.body)")
        }

        func post(_ session: String, _ body: String) throws -> StreamingRequest {
            try StreamingRequest(port: http.port, method: "POST", path: "/mcp",
                                 headers: HTTPHost.mcpHeaders.merging(["Mcp-Session-Id": session]) { $1 }, body: body)
        }
        let callB = try post(b, #"{"jsonrpc":"2.0","id":"b-1","method":"tools/call","params":{"name":"remote__sleep","arguments":{"seconds":4}}}"#)
        _ = try await waitFor("B's call to reach the server", timeout: 30) { server.calls("sleep") == 1 ? true : nil }
        let callA = try post(a, #"{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"remote__ask","arguments":{"prompt":"for A only"}}}"#)

        // A gets the sampling request (on its POST's answer stream or its GET stream) while B's call is in flight.
        let isSampling: ([String: Any]) -> Bool = { $0["method"] as? String == "sampling/createMessage" }
        let deadline = Date().addingTimeInterval(30)
        var request: [String: Any]?
        while request == nil && Date() < deadline {
            request = callA.messages.first(where: isSampling) ?? streamA.messages.first(where: isSampling)
            if request == nil {
                if callA.ended, let answer = response(in: callA.messages, id: "a-1") {
                    throw TestFailure("A's call ended without a sampling request: \(answer)\n\(http.host.stderr.suffix(3000))")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let sampling = try #require(request, "A got no sampling request; A: \(callA.body) GET A: \(streamA.body)\n\(http.host.stderr.suffix(3000))")
        #expect("\(sampling)".contains("for A only"))
        #expect(response(in: callB.messages, id: "b-1") == nil, "B's call was still in flight when A was asked")
        let samplingID = try #require(sampling["id"])
        let answer: [String: Any] = ["jsonrpc": "2.0", "id": samplingID,
                                     "result": ["role": "assistant", "content": ["type": "text", "text": "A's answer"], "model": "test"]]
        let posted = try await http.post(String(decoding: try JSONSerialization.data(withJSONObject: answer), as: UTF8.self), session: a)
        #expect(posted.status == 202, "\(posted.status) \(posted.body)")

        let resultA = try callA.waitForMessage(timeout: 30, "A's answer") { ($0["result"] != nil || $0["error"] != nil) && sameID($0["id"], "a-1") }
        #expect(firstText(resultA) == "sampled: A's answer", "\(resultA)")
        let resultB = try callB.waitForMessage(timeout: 30, "B's answer") { ($0["result"] != nil || $0["error"] != nil) && sameID($0["id"], "b-1") }
        #expect(firstText(resultB) == "slept", "\(resultB)")
        for (name, text) in [("B's POST answer", callB.body), ("B's GET stream", streamB.body)] {
            #expect(!text.contains("sampling/createMessage") && !text.contains("for A only"), "\(name) saw A's sampling request: \(text)")
        }
        streamA.cancel()
        streamB.cancel()
        http.host.process.terminate()
        #expect(try http.host.waitForExit() == 0)
    }

    // MARK: - Bearer tokens and OAuth

    @Test func bearerTokenFromTheEnvironment() async throws {
        let token = "tok-right-\(UUID().uuidString)"
        let wrong = "tok-wrong-\(UUID().uuidString)"
        let server = try PythonServer(["--token", token])
        let entry: [String: Any] = ["url": server.url, "headers": ["Authorization": "Bearer ${MCPH_TEST_TOKEN}"]]

        func attempt(_ value: String) async throws -> (call: [String: Any]?, seen: String) {
            let http = try httpHost(["remote": entry], environment: ["MCPH_TEST_TOKEN": value])
            defer { end(http.host) }
            let session = try await http.initialize()
            let answer = try await httpCall(http, session: session, id: 1, "remote__echo", ["text": "authorized"])
            let health = try await http.send("GET", "/health")
            let metrics = try await http.send("GET", "/metrics")
            http.host.process.terminate()
            try http.host.waitForExit()
            return (response(in: answer.messages, id: 1), [answer.reply.body, health.body, metrics.body, http.host.stderr].joined(separator: "\n"))
        }

        let good = try await attempt(token)
        #expect(good.call.flatMap(firstText) == "authorized", "\(String(describing: good.call))")
        #expect(!good.seen.contains(token), "the token leaked into an answer, /health, /metrics or the log")

        let bad = try await attempt(wrong)
        let error = try #require(bad.call.flatMap(failure), "a wrong token must give an error: \(String(describing: bad.call))")
        #expect(error.contains("'remote'"), "the error names the backend: \(error)")
        #expect(error.contains("401"), "the error names the HTTP status: \(error)")
        #expect(!bad.seen.contains(wrong) && !bad.seen.contains(token), "a token leaked: \(bad.seen.suffix(3000))")
    }

    @Test func anOAuthChallengeSaysWhatToDo() throws {
        let server = try PythonServer(["--oauth"])
        let host = try stdioHost(["remote": ["url": server.url]])
        defer { end(host) }
        let answer = try call(host, 1, "remote__echo", ["text": "x"])
        let error = try #require(failure(answer), "\(answer)")
        #expect(error.contains("OAuth"), "\(error)")
        #expect(error.contains("headers"), "it says a token can be given in \"headers\": \(error)")
        #expect(error.contains("'remote'"), "\(error)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Refused, hung and stuck backends beside a healthy one

    @Test func refusedAndHungBackendsFailWithinTheirDeadlinesWhileOthersWork() throws {
        let healthy = try PythonServer()
        let silent = try PythonServer(["--transport", "silent"])
        let refusedPort = try unusedPort()
        let host = try stdioHost([
            "healthy": ["url": healthy.url],
            "stuck": ["url": healthy.url, "request_timeout": "2s"],
            "silent": ["url": silent.url, "request_timeout": "2s"],
            "refused": ["url": "http://127.0.0.1:\(refusedPort)/mcp", "connect_timeout": "2s"],
        ], extra: ["--request-timeout", "60"])
        defer { end(host) }
        #expect(firstText(try call(host, "warm-healthy", "healthy__echo", ["text": "up"])) == "up")
        #expect(firstText(try call(host, "warm-stuck", "stuck__echo", ["text": "up"])) == "up")

        let start = Date()
        try host.request("hang", "tools/call", ["name": "stuck__hang", "arguments": [:]])
        try host.request("silent", "tools/call", ["name": "silent__echo", "arguments": ["text": "anyone?"]])
        try host.request("refused", "tools/call", ["name": "refused__echo", "arguments": ["text": "anyone?"]])
        try host.request("ok-sleep", "tools/call", ["name": "healthy__sleep", "arguments": ["seconds": 1]])
        try host.request("ok-echo", "tools/call", ["name": "healthy__echo", "arguments": ["text": "unaffected"]])
        let got = try answers(host, ["hang", "silent", "refused", "ok-sleep", "ok-echo"], since: start, timeout: 90)
        func seconds(_ id: String) -> Double { got[id]?.seconds ?? 99 }

        for (id, backend) in [("hang", "stuck"), ("silent", "silent")] {
            let error = got[id].flatMap { failure($0.json) } ?? ""
            #expect(error.contains("'\(backend)'"), "\(id): an error naming the backend: \(String(describing: got[id]?.json))")
            #expect(seconds(id) >= 1.5 && seconds(id) < 8, "\(id) answered after \(seconds(id)) s; its request_timeout is 2 s")
        }
        let refused = got["refused"].flatMap { failure($0.json) } ?? ""
        #expect(refused.contains("'refused'") && refused.contains("refused"), "\(String(describing: got["refused"]?.json))")
        #expect(seconds("refused") < 10, "refused answered after \(seconds("refused")) s")
        #expect(got["ok-sleep"].flatMap { firstText($0.json) } == "slept")
        #expect(got["ok-echo"].flatMap { firstText($0.json) } == "unaffected")
        #expect(seconds("ok-echo") < seconds("hang") && seconds("ok-echo") < seconds("silent"),
                "the healthy backend answered while the others hung: \(got.mapValues(\.seconds))")
        #expect(seconds("ok-sleep") < 5, "\(got.mapValues(\.seconds))")

        // Again, once everything has settled: the hung backends fail the same way, the healthy one works.
        let again = Date()
        try host.request("silent-2", "tools/call", ["name": "silent__echo", "arguments": ["text": "anyone?"]])
        try host.request("ok-2", "tools/call", ["name": "healthy__echo", "arguments": ["text": "still"]])
        let second = try answers(host, ["silent-2", "ok-2"], since: again, timeout: 60)
        #expect(second["silent-2"].flatMap { failure($0.json) } != nil)
        #expect((second["silent-2"]?.seconds ?? 99) < 8)
        #expect(second["ok-2"].flatMap { firstText($0.json) } == "still")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Resumption of a dropped SSE answer

    /// The server closes the POST's SSE stream mid-call (the SDK's close_sse_stream, with its event
    /// store): the plugin resumes with GET + Last-Event-ID, and the caller sees every progress step
    /// (replayed and live) and the answer.
    @Test func aDroppedAnswerStreamIsResumedWithLastEventID() throws {
        let server = try PythonServer(["--resumable", "--retry-ms", "200"])
        let host = try stdioHost(["remote": ["url": server.url]])
        defer { end(host) }
        let before = host.everyLine.count
        let answer = try call(host, 1, "remote__drop", ["steps": 3], meta: ["progressToken": "resume-me"])
        #expect(firstText(answer) == "resumed", "\(answer)\n\(host.stderr.suffix(3000))")
        let progress = progressNotifications(Array(host.everyLine.dropFirst(before)), token: "resume-me")
        #expect(progress.map(\.progress) == [0, 1, 2, 3, 4], "before the drop, replayed, live: \(progress)")
        #expect(progress.map(\.message) == ["before the drop", "replayed 1", "replayed 2", "replayed 3", "live"])
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Every connection of the pool busy with a long call

    /// With every pooled connection held by a call whose answer is still streaming: the GET stream
    /// takes none of them; a call beyond the pool waits for a connection (AsyncHTTPClient gives up
    /// after connect_timeout) instead of failing; and the messages that let a call end still go
    /// out: a cancellation (its POST is what closes the cancelled call's stream) and the client's
    /// answer to a sampling request (the call waits for it). `max_connections: 1` makes one call
    /// fill the pool.
    @Test func aFullPoolStillCarriesCancellationsAndAnswers() throws {
        let server = try PythonServer()
        let entry: [String: Any] = ["url": server.url, "max_connections": 1, "connect_timeout": "1s"]
        let host = try HostProcess(config: try writeConfig(["remote": entry], in: try Paths.temporaryDirectory()),
                                   extra: ["--request-timeout", "60"])
        defer { end(host) }
        try host.request("init", "initialize", ["protocolVersion": "2025-06-18", "capabilities": ["sampling": [:]],
                                                "clientInfo": ["name": "swift-test", "version": "1"]])
        _ = try host.response(id: "init")
        try host.send(["jsonrpc": "2.0", "method": "notifications/initialized"])
        let warm = try call(host, "warm", "remote__echo", ["text": "warm"])
        #expect(firstText(warm) == "warm", "\(warm)\n\(host.stderr.suffix(3000))")

        // Two 2-second calls on one connection: the second waits for the first (4 s in all, past
        // connect_timeout), and both succeed.
        let start = Date()
        for id in ["queued-1", "queued-2"] { try host.request(id, "tools/call", ["name": "remote__sleep", "arguments": ["seconds": 2]]) }
        let queued = try answers(host, ["queued-1", "queued-2"], since: start, timeout: 30)
        #expect(queued.values.allSatisfy { firstText($0.json) == "slept" }, "\(queued.mapValues(\.json))\n\(host.stderr.suffix(3000))")
        #expect(server.calls("sleep") == 2)

        // A cancelled call that holds the only connection.
        try host.request("hang", "tools/call", ["name": "remote__hang", "arguments": [:]])
        _ = try waitFor("the hang call to reach the server", timeout: 30) { server.calls("hang") == 1 ? true : nil }
        try host.send(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": "hang", "reason": "test"]])
        let after = try call(host, "after-cancel", "remote__echo", ["text": "after the cancel"], timeout: 8)
        #expect(firstText(after) == "after the cancel", "\(after)\n\(host.stderr.suffix(3000))")

        // A call waiting for the client's answer to its sampling request, holding the only connection.
        try host.request("ask", "tools/call", ["name": "remote__ask", "arguments": ["prompt": "pool"]])
        let sampling = try host.next(timeout: 30, "the sampling request") { $0["method"] as? String == "sampling/createMessage" }.json
        let samplingID = try #require(sampling["id"])
        try host.send(["jsonrpc": "2.0", "id": samplingID,
                       "result": ["role": "assistant", "content": ["type": "text", "text": "answered"], "model": "test"]])
        let asked = try host.response(id: "ask", timeout: 8)
        #expect(firstText(asked) == "sampled: answered", "\(asked)\n\(host.stderr.suffix(3000))")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Configuration errors

    @Test func httpConfigErrorsNameTheServerAndTheKey() throws {
        let secret = "s3cret-\(UUID().uuidString.prefix(8))"
        let server = try PythonServer()
        let host = try stdioHost([
            "num": ["url": 5],
            "hdr": ["url": server.url, "headers": ["A": 1]],
            "ct": ["url": server.url, "connect_timeout": "x"],
            "secret-ct": ["url": server.url, "connect_timeout": "${MCPH_TEST_SECRET}"],
            "secret-hdr": ["url": server.url, "headers": ["X-Key": "${MCPH_TEST_SECRET}", "B": ["nested"]]],
            "query": ["url": server.url + "?key=${MCPH_TEST_SECRET}"], // valid: served, but its query is never logged
            "path": ["url": "http://127.0.0.1:1/mcp/${MCPH_TEST_SECRET}/x"], // a key in the path of a server that refuses
            "ok": ["url": server.url],
        ], environment: ["MCPH_TEST_SECRET": secret])
        defer { end(host) }
        #expect(firstText(try call(host, 1, "ok__echo", ["text": "fine"])) == "fine", "a good server beside bad ones works")
        #expect(firstText(try call(host, 2, "query__echo", ["text": "with a query"])) == "with a query")
        let tools = try list(host, "tools/list", key: "tools")
        #expect(tools.contains("ok__echo"))
        for (server, key) in [("num", "url"), ("hdr", "headers"), ("ct", "connect_timeout"), ("secret-ct", "connect_timeout"), ("secret-hdr", "headers")] {
            #expect(!tools.contains { $0.hasPrefix(server + "__") }, "\(server) is not served")
            _ = try waitFor("an error naming server '\(server)' and \(key); stderr:\n\(host.stderr.suffix(3000))", timeout: 20) {
                host.stderr.split(separator: "\n").first { $0.contains("'\(server)'") && $0.contains(key) }
            }
        }
        let refused = try call(host, 3, "path__echo", ["text": "x"])
        let refusal = ((refused["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(refusal.contains("'path'") && refusal.contains("connection refused"), "\(refused)")
        #expect(!refusal.contains(secret), "the error quotes the key in the URL's path: \(refusal)")
        let leaks = host.stderr.split(separator: "\n").filter { $0.contains(secret) }
        #expect(leaks.isEmpty, "a substituted secret was echoed in the log: \(leaks)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - A host of ABI 1.0

    /// The plugin in a host whose structs are ABI 1.0 sized: every message through on_message,
    /// exactly one terminal event after close, nothing after destroy.
    @Test func thePluginWorksInAnABI1_0Host() throws {
        let server = try PythonServer()
        let binary = try Paths.temporaryDirectory() + "/old_host_http"
        let compiled = try run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Werror", "-pthread", "-I", PluginLoadingTests.header,
                                                "-o", binary, Paths.packageRoot + "/Tests/IntegrationTests/c/old_host_http.c", "-ldl"])
        guard compiled.status == 0 else { throw TestFailure("cc failed:\n\(compiled.stderr)") }
        let result = try run(binary, [HTTPTransportPrerequisites.plugin, server.url])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(3000))")
        #expect(result.stdout.contains("ok progress=3 log=1 terminal=1 after_destroy=0 related=0"), "\(result.stdout)")
        #expect(!result.stdout.contains("FAIL"), "\(result.stdout)")
    }
}
