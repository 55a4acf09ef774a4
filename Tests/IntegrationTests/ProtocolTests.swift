import Foundation
import Testing

/// What a client sees of the protocol: the host's own answers, routing of every item kind, bad
/// input answered with the right error while the session goes on, and lists that no backend stalls.
@Suite(.serialized)
struct ProtocolTests {
    @Test func badInputGetsClearErrorsAndTheSessionSurvives() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["f": fakeServer(name: "f")], in: dir)
        host.send("{not json")
        let parse = try host.next(where: { ($0["error"] as? [String: Any])?["code"] as? Int == -32700 }).json
        #expect(parse["id"] is NSNull)
        host.send(#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
        let batch = try host.next(where: { ($0["error"] as? [String: Any])?["code"] as? Int == -32600 }).json
        #expect(((batch["error"] as? [String: Any])?["message"] as? String)?.contains("batches") == true)
        host.send(#"{"jsonrpc":"2.0","id":2,"method":7}"#)
        #expect((try host.response(id: 2)["error"] as? [String: Any])?["code"] as? Int == -32600)
        try host.request(3, "no/such/method")
        #expect((try host.response(id: 3)["error"] as? [String: Any])?["code"] as? Int == -32601)
        try host.request(4, "tools/call", ["name": "f__nope", "arguments": [:]])
        #expect((try host.response(id: 4)["error"] as? [String: Any])?["message"] as? String == "Unknown tool: nope",
                "the backend's own answer for its unknown tool is passed on")
        try host.request(5, "tools/call", ["name": "zz__echo", "arguments": [:]])
        let unknown = try #require(try host.response(id: 5)["error"] as? [String: Any])
        #expect(unknown["code"] as? Int == -32602)
        #expect((unknown["message"] as? String)?.contains("Unknown tool 'zz__echo'") == true)
        try host.request(6, "tools/call", ["arguments": [:]])
        #expect((try host.response(id: 6)["error"] as? [String: Any])?["code"] as? Int == -32602)
        try host.request(7, "server/discover")
        #expect((try host.response(id: 7)["error"] as? [String: Any])?["code"] as? Int == -32601)
        // Still alive and routing.
        try host.request(8, "tools/call", ["name": "f__echo", "arguments": ["text": "alive"]])
        #expect(firstText(try host.response(id: 8)) == "alive")
        try host.request(9, "ping")
        #expect(try host.response(id: 9)["result"] != nil)
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
        // stdout carried protocol only (debug logs went to stderr): one JSON object per line.
        #expect(host.everyLine.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] })
        #expect(host.stderr.contains("debug"))
    }

    /// A duplicate key where the host reads or splices is refused (the host would rewrite one copy,
    /// a backend whose parser keeps the last read the other); the session goes on.
    @Test func duplicateKeysAreRefusedAndTheSessionSurvives() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["f": fakeServer(name: "f")], in: dir)
        host.send(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"f__echo","name":"g__echo","arguments":{"text":"x"}}}"#)
        let error = try #require(try host.response(id: 1)["error"] as? [String: Any])
        #expect(error["code"] as? Int == -32600)
        #expect(error["message"] as? String == #"Invalid Request: duplicate key "name" in params; each key may appear once"#)
        // A tool's own data may repeat keys; it reaches the backend as sent.
        host.send(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"f__echo","arguments":{"text":"a","text":"alive"}}}"#)
        #expect(firstText(try host.response(id: 2)) == "alive")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    @Test func backendLogMessagesRespectTheClientsLevel() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["f": fakeServer(name: "f")], in: dir)
        let isLog: (String) -> Bool = { $0.contains("notifications/message") }
        // Default: every level arrives, before the call's response (same order as the backend sent).
        try host.request(1, "tools/call", ["name": "f__spam", "arguments": ["count": 3, "size": 10]])
        _ = try host.response(id: 1)
        #expect(host.everyLine.filter(isLog).count == 3)
        try host.request(2, "logging/setLevel", ["level": "error"])
        #expect(try host.response(id: 2)["result"] != nil)
        try host.request(3, "tools/call", ["name": "f__spam", "arguments": ["count": 3, "size": 10]])
        _ = try host.response(id: 3)
        #expect(host.everyLine.filter(isLog).count == 3, "info messages are filtered out at level error")
        try host.request(4, "logging/setLevel", ["level": "loud"])
        #expect((try host.response(id: 4)["error"] as? [String: Any])?["code"] as? Int == -32602)
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func backendRequestsGoToTheClientThatDeclaredTheCapability() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let config = try writeConfig(["f": fakeServer(name: "f", log: log)], in: dir)

        // A client without the sampling capability: the backend is refused, the call reports it.
        let plain = try HostProcess(config: config)
        try plain.initialize()
        try plain.request(1, "tools/call", ["name": "f__sample", "arguments": ["prompt": "x"]])
        let refused = try plain.response(id: 1)
        #expect(firstText(refused)?.contains("did not declare the sampling capability") == true, "\(refused)")
        plain.closeStdin()
        try plain.waitForExit()

        // A client with it gets the request under a host id, and its answer reaches the backend.
        let capable = try HostProcess(config: config)
        try capable.request("init", "initialize", ["protocolVersion": "2025-06-18", "capabilities": ["sampling": [:]], "clientInfo": ["name": "c", "version": "1"]])
        _ = try capable.response(id: "init")
        try capable.send(["jsonrpc": "2.0", "method": "notifications/initialized"])
        try capable.request(2, "tools/call", ["name": "f__sample", "arguments": ["prompt": "hello"]])
        let asked = try capable.next(where: { $0["method"] as? String == "sampling/createMessage" }).json
        let hostID = try #require(asked["id"] as? String)
        #expect(hostID.hasPrefix("mcph-"), "the client sees a host-issued id, not the backend's")
        // A response with an id nobody asked for is ignored; the right one is mapped back.
        try capable.send(["jsonrpc": "2.0", "id": "mcph-999999", "result": ["role": "assistant", "model": "m", "content": ["type": "text", "text": "stray"]]])
        try capable.send(["jsonrpc": "2.0", "id": hostID, "result": ["role": "assistant", "model": "m", "content": ["type": "text", "text": "hi there"]]])
        #expect(firstText(try capable.response(id: 2)) == "sampled: hi there")
        let backendSaw = try loggedMessages(log).filter { $0["method"] == nil && ($0["id"] as? String)?.hasPrefix("s-") == true }
        #expect(backendSaw.count == 2, "one refusal for the first client, one answer for the second: \(backendSaw)")
        capable.closeStdin()
        try capable.waitForExit()
    }

    @Test func resourceUpdatesReachOnlySubscribers() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let host = try HostProcess.initialized(["f": fakeServer(name: "f", log: log)], in: dir)
        try host.request(1, "resources/subscribe", ["uri": "fake://f/readme"])
        #expect(try host.response(id: 1)["result"] != nil)
        try host.request(2, "tools/call", ["name": "f__touch", "arguments": ["uri": "fake://f/items/7"]])
        _ = try host.response(id: 2)
        try host.request(3, "tools/call", ["name": "f__touch", "arguments": ["uri": "fake://f/readme"]])
        _ = try host.response(id: 3)
        let updates = host.everyLine.filter { $0.contains("notifications/resources/updated") }
        #expect(updates.count == 1 && updates.first?.contains("fake://f/readme") == true, "\(updates)")
        try host.request(4, "resources/unsubscribe", ["uri": "fake://f/readme"])
        #expect(try host.response(id: 4)["result"] != nil)
        try host.request(5, "tools/call", ["name": "f__touch", "arguments": ["uri": "fake://f/readme"]])
        _ = try host.response(id: 5)
        #expect(host.everyLine.filter { $0.contains("notifications/resources/updated") }.count == 1)
        let methods = try loggedMessages(log).compactMap { $0["method"] as? String }
        #expect(methods.filter { $0 == "resources/subscribe" }.count == 1)
        #expect(methods.filter { $0 == "resources/unsubscribe" }.count == 1)
        // A refused subscription is passed on and not kept: asking again asks the backend again.
        for id in [6, 7] {
            try host.request(id, "resources/subscribe", ["uri": "fake://f/items/deny"])
            let error = try #require(try host.response(id: id)["error"] as? [String: Any])
            #expect(error["message"] as? String == "no subscriptions to fake://f/items/deny")
        }
        #expect(try loggedMessages(log).filter { $0["method"] as? String == "resources/subscribe" }.count == 3)
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func initializeNegotiatesTheVersionPerClient() throws {
        let host = try HostProcess(config: try writeConfig([:], in: try Paths.temporaryDirectory()))
        try host.request(1, "initialize", ["protocolVersion": "2024-11-05", "capabilities": [:], "clientInfo": ["name": "old", "version": "1"]])
        #expect((try host.response(id: 1)["result"] as? [String: Any])?["protocolVersion"] as? String == "2024-11-05")
        try host.request(2, "initialize", ["protocolVersion": "1999-01-01", "capabilities": [:], "clientInfo": ["name": "odd", "version": "1"]])
        let result = try #require(try host.response(id: 2)["result"] as? [String: Any])
        #expect(result["protocolVersion"] as? String == "2025-11-25")
        #expect((result["serverInfo"] as? [String: Any])?["name"] as? String == "mcp-host")
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func promptsResourcesAndTemplatesRouteToTheirBackend() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/b.log"
        let host = try HostProcess.initialized(["a": fakeServer(name: "a"), "b": fakeServer(name: "b", log: log)], in: dir)
        try host.request(1, "prompts/get", ["name": "b__hello", "arguments": ["who": "ann"]])
        let prompt = try host.response(id: 1)
        let messages = (prompt["result"] as? [String: Any])?["messages"] as? [[String: Any]]
        #expect((messages?.first?["content"] as? [String: Any])?["text"] as? String == "hello ann from hello", "the backend saw its own prompt name")
        try host.request(2, "resources/read", ["uri": "fake://b/readme"])
        let read = try host.response(id: 2)
        #expect((((read["result"] as? [String: Any])?["contents"] as? [[String: Any]])?.first?["text"] as? String) == "content of fake://b/readme")
        try host.request(3, "resources/read", ["uri": "fake://a/items/42"])
        let templated = try host.response(id: 3)
        #expect((((templated["result"] as? [String: Any])?["contents"] as? [[String: Any]])?.first?["text"] as? String) == "content of fake://a/items/42")
        try host.request(4, "resources/read", ["uri": "fake://nobody/x"])
        #expect((try host.response(id: 4)["error"] as? [String: Any])?["code"] as? Int == -32602)
        try host.request(5, "resources/templates/list")
        let templates = ((try host.response(id: 5)["result"] as? [String: Any])?["resourceTemplates"] as? [[String: Any]]) ?? []
        #expect(Set(templates.compactMap { $0["uriTemplate"] as? String }) == ["fake://a/items/{id}", "fake://b/items/{id}"])
        // Listed items keep the fields the host does not know.
        try host.request(6, "tools/list")
        let tools = ((try host.response(id: 6)["result"] as? [String: Any])?["tools"] as? [[String: Any]]) ?? []
        let echo = try #require(tools.first { $0["name"] as? String == "a__echo" })
        #expect((echo["x-vendor"] as? [String: Any])?["kept"] as? Int == 1)
        #expect((echo["annotations"] as? [String: Any])?["readOnlyHint"] as? Bool == true)
        #expect(echo["description"] as? String == "[a] Echoes text.\nSecond line.")
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func aPaginatedBackendListIsFollowedToTheEnd() throws {
        let dir = try Paths.temporaryDirectory()
        var paged = fakeServer(name: "p")
        paged["env"] = ["FAKE_BACKEND_NAME": "p", "FAKE_BACKEND_PAGE_SIZE": "3"]
        let host = try HostProcess.initialized(["p": paged, "q": fakeServer(name: "q")], in: dir)
        try host.request(1, "tools/list")
        let result = try #require(try host.response(id: 1)["result"] as? [String: Any])
        let names = (result["tools"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(names.filter { $0.hasPrefix("p__") }.count == names.filter { $0.hasPrefix("q__") }.count, "\(names)")
        #expect(names.filter { $0.hasPrefix("p__") }.count >= 7)
        #expect(result["nextCursor"] == nil, "the host returns the whole list")
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func concurrentFirstRequestsStartABackendOnce() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/f.log"
        let host = try HostProcess.initialized(["f": fakeServer(name: "f", log: log)], in: dir)
        for i in 0..<10 { try host.request(i, "tools/call", ["name": "f__echo", "arguments": ["text": "\(i)"]]) }
        for i in 0..<10 { #expect(firstText(try host.response(id: i)) == "\(i)") }
        #expect(try loggedMessages(log).filter { $0["method"] as? String == "initialize" }.count == 1)
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func aSlowBackendDoesNotStallTheListAndArrivesLater() throws {
        let dir = try Paths.temporaryDirectory()
        var slow = fakeServer(name: "slow")
        slow["env"] = ["FAKE_BACKEND_NAME": "slow", "FAKE_BACKEND_LIST_DELAY_MS": "4000"]
        let host = try HostProcess(config: try writeConfig(["fast": fakeServer(name: "fast"), "slow": slow], in: dir),
                                   extra: ["--list-timeout", "1"])
        try host.initialize()
        try host.request(1, "tools/list")
        let first = ((try host.response(id: 1, timeout: 3.5)["result"] as? [String: Any])?["tools"] as? [[String: Any]]) ?? []
        let names = first.compactMap { $0["name"] as? String }
        #expect(names.contains("fast__echo"))
        #expect(!names.contains("slow__echo"))
        _ = try host.next(timeout: 10, "tools/list_changed") { $0["method"] as? String == "notifications/tools/list_changed" }
        try host.request(2, "tools/list")
        let second = ((try host.response(id: 2)["result"] as? [String: Any])?["tools"] as? [[String: Any]]) ?? []
        #expect(second.contains { $0["name"] as? String == "slow__echo" })
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func oneShotCommandsPrintTheCatalogAndResults() throws {
        let dir = try Paths.temporaryDirectory()
        let config = try writeConfig(["f": fakeServer(name: "f")], in: dir)
        let base = ["--plugins", Paths.pluginsDir, "--config", config]
        let tools = try run(Paths.host, ["tools"] + base)
        #expect(tools.stdout.contains("f__echo"))
        #expect(tools.stdout.contains("[f] Echoes text."))
        #expect(!tools.stdout.contains("Second line."), "only the first line of a description")
        let json = try run(Paths.host, ["tools", "--json"] + base)
        let list = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(list?.contains { $0["name"] as? String == "f__fidelity" } == true)
        let ok = try run(Paths.host, ["call", "f__echo", #"{"text":"hi"}"#] + base)
        #expect(ok.status == 0 && ok.stdout == "hi\n")
        let toolError = try run(Paths.host, ["call", "f__fail"] + base)
        #expect(toolError.status == 1 && toolError.stdout == "it went wrong\n")
        let unknown = try run(Paths.host, ["call", "nope__x"] + base)
        #expect(unknown.status == 2 && unknown.stderr.contains("Unknown tool 'nope__x'"))
        let badArgs = try run(Paths.host, ["call", "f__echo", "[1]"] + base)
        #expect(badArgs.status != 0 && badArgs.stderr.contains("must be a JSON object"))
        #expect(stdoutIsProtocolOnly(try run(Paths.host, ["call", "f__echo", #"{"text":"x"}"#, "--log-level", "debug"] + base)))
    }

    /// With debug logging, stdout still holds only the result: logs go to stderr.
    private func stdoutIsProtocolOnly(_ result: (status: Int32, stdout: String, stderr: String)) -> Bool {
        result.stdout == "x\n" && result.stderr.contains("debug")
    }
}
