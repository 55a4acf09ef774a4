import Foundation
import Testing

/// The router chain through the real binary with the bundled routers (plugins.d): the filter
/// router hiding items from lists and refusing calls by guessed hidden names, the alias router
/// renaming (calls through an alias reach the backend), a chain where the filter sees aliased
/// names, per-caller views from bearer tokens with subjects over HTTP, and start-up errors for a
/// chain naming a router that is not loaded.
///
/// The routers' settings travel in the servers file's "plugins" section (ABI 1.4 plugin_config).
@Suite(.serialized)
struct RouterChainTests {
    /// A servers file with `servers`, the chain `routers` (nil: none given) and plugin settings.
    static func writeServers(_ servers: [String: Any], routers: [String]?, plugins: [String: Any], in dir: String) throws -> String {
        var root: [String: Any] = ["mcpServers": servers, "plugins": plugins]
        if let routers { root["routers"] = routers }
        let path = dir + "/servers.json"
        try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The tool names a stdio host lists.
    static func toolNames(_ host: HostProcess, id: String) throws -> [String] {
        try host.request(id, "tools/list")
        let tools = ((try host.response(id: id)["result"] as? [String: Any])?["tools"] as? [[String: Any]]) ?? []
        return tools.compactMap { $0["name"] as? String }.sorted()
    }

    static func call(_ host: HostProcess, id: String, _ name: String, _ arguments: [String: Any] = [:]) throws -> [String: Any] {
        try host.request(id, "tools/call", ["name": name, "arguments": arguments])
        return try host.response(id: id)
    }

    /// The tools/call requests a fake backend received (from its FAKE_BACKEND_LOG), by tool name.
    static func calledTools(_ log: String) -> [String] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let message = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                  message["method"] as? String == "tools/call" else { return nil }
            return (message["params"] as? [String: Any])?["name"] as? String
        }
    }

    static func error(_ response: [String: Any]) -> (code: Int?, message: String) {
        let error = response["error"] as? [String: Any]
        return (error?["code"] as? Int, error?["message"] as? String ?? "")
    }

    // MARK: - Filter

    @Test func filterHidesFromListsAndRefusesGuessedHiddenNames() throws {
        let dir = try Paths.temporaryDirectory()
        let gitLog = dir + "/git.log"
        let config = try Self.writeServers(["git": fakeServer(name: "git", log: gitLog), "time": fakeServer(name: "time")],
                                           routers: ["mcph.namespace", "mcph.filter"],
                                           plugins: ["mcph.filter": ["servers": ["git": ["deny": ["git__pid", "*crash*"]],
                                                                                 "*": ["deny": ["*garbage"]]]]],
                                           in: dir)
        let host = try HostProcess(config: config)
        try host.initialize()

        // A guessed hidden name before any list was loaded: refused by the host, never sent.
        let guessed = try Self.call(host, id: "guess", "git__pid")
        #expect(Self.error(guessed).code == -32602, "\(guessed)")
        #expect(Self.error(guessed).message.contains("git__pid"), "\(guessed)")
        #expect(guessed["result"] == nil)

        let tools = try Self.toolNames(host, id: "list")
        #expect(tools.contains("git__echo") && tools.contains("time__pid") && tools.contains("time__crash"), "\(tools)")
        #expect(!tools.contains("git__pid") && !tools.contains("git__crash"), "hidden by git's deny list: \(tools)")
        #expect(!tools.contains("git__garbage") && !tools.contains("time__garbage"), "hidden by the * rules: \(tools)")

        // And again once the list is known; the other backend's pid is still callable.
        let again = try Self.call(host, id: "again", "git__crash")
        #expect(Self.error(again).code == -32602, "\(again)")
        #expect(Self.error(try Self.call(host, id: "g2", "time__garbage")).code == -32602)
        #expect(firstText(try Self.call(host, id: "echo", "git__echo", ["text": "hi"])) == "hi")
        #expect(try Self.call(host, id: "tpid", "time__pid")["result"] != nil)

        let called = Self.calledTools(gitLog)
        #expect(called == ["echo"], "only the visible tool reached git: \(called)")
        host.closeStdin()
        try host.waitForExit()
    }

    // MARK: - Alias

    @Test func aliasRenamesAndCallsReachTheBackend() throws {
        let dir = try Paths.temporaryDirectory()
        let gitLog = dir + "/git.log", timeLog = dir + "/time.log"
        let config = try Self.writeServers(["git": fakeServer(name: "git", log: gitLog), "time": fakeServer(name: "time", log: timeLog)],
                                           routers: ["mcph.namespace", "mcph.alias"],
                                           plugins: ["mcph.alias": ["aliases": ["git__echo": "say", "git__pid": "git_pid"], "unprefix": ["time"]]],
                                           in: dir)
        let host = try HostProcess(config: config)
        try host.initialize()

        // Through the alias before any list: the alias router maps it back, the namespace router names git.
        #expect(firstText(try Self.call(host, id: "say1", "say", ["text": "via alias"])) == "via alias")
        // An un-prefixed time tool, also before its list is known.
        #expect(firstText(try Self.call(host, id: "echo1", "echo", ["text": "time"])) == "time")

        let tools = try Self.toolNames(host, id: "list")
        #expect(tools.contains("say") && tools.contains("git_pid"), "\(tools)")
        #expect(!tools.contains("git__echo") && !tools.contains("git__pid"), "renamed items are listed once, renamed: \(tools)")
        #expect(tools.contains("echo") && tools.contains("pid") && !tools.contains("time__echo"), "time is un-prefixed: \(tools)")
        #expect(tools.contains("git__slow"), "other git tools keep their names: \(tools)")

        #expect(firstText(try Self.call(host, id: "say2", "say", ["text": "again"])) == "again")
        #expect(try Self.call(host, id: "pid", "git_pid")["result"] != nil)
        #expect(Self.calledTools(gitLog) == ["echo", "echo", "pid"], "git got its original names: \(Self.calledTools(gitLog))")
        #expect(Self.calledTools(timeLog) == ["echo"], "\(Self.calledTools(timeLog))")
        host.closeStdin()
        try host.waitForExit()
    }

    // MARK: - Chain

    @Test func filterAfterAliasSeesAliasedNames() throws {
        let dir = try Paths.temporaryDirectory()
        let gitLog = dir + "/git.log"
        let config = try Self.writeServers(["git": fakeServer(name: "git", log: gitLog)],
                                           routers: ["mcph.namespace", "mcph.alias", "mcph.filter"],
                                           plugins: ["mcph.alias": ["aliases": ["git__echo": "say", "git__pid": "whoami"]],
                                                     // The filter's names are the alias router's output.
                                                     "mcph.filter": ["servers": ["git": ["allow": ["say", "whoami", "git__slow"], "deny": ["whoami"]]]]],
                                           in: dir)
        let host = try HostProcess(config: config)
        try host.initialize()

        // The original name of an aliased item is no way around the filter.
        #expect(Self.error(try Self.call(host, id: "orig", "git__pid")).code == -32602)
        #expect(Self.error(try Self.call(host, id: "alias", "whoami")).code == -32602, "denied under its alias")

        let tools = try Self.toolNames(host, id: "list")
        #expect(tools == ["git__slow", "say"], "allowed by aliased name (say), whoami denied, the rest not in the allow list: \(tools)")
        #expect(firstText(try Self.call(host, id: "say", "say", ["text": "ok"])) == "ok")
        #expect(Self.error(try Self.call(host, id: "fail", "git__fail")).code == -32602, "not in the allow list")
        #expect(Self.calledTools(gitLog) == ["echo"], "\(Self.calledTools(gitLog))")
        host.closeStdin()
        try host.waitForExit()
    }

    /// Where the filter's own `route` cannot tell (its rule names only the alias, and the client uses
    /// the item's original name, which no rule matches), the host's check decides: it exposes the
    /// item the request resolved to through the whole chain, finds it hidden, and answers exactly
    /// as for a name no server provides. Nothing reaches the backend.
    @Test func theOriginalNameOfAHiddenAliasIsUnknown() throws {
        let dir = try Paths.temporaryDirectory()
        let gitLog = dir + "/git.log"
        let config = try Self.writeServers(["git": fakeServer(name: "git", log: gitLog)],
                                           routers: ["mcph.namespace", "mcph.alias", "mcph.filter"],
                                           plugins: ["mcph.alias": ["aliases": ["git__pid": "whoami"]],
                                                     "mcph.filter": ["servers": ["git": ["deny": ["whoami"]]]]],
                                           in: dir)
        let host = try HostProcess(config: config)
        try host.initialize()
        let unknown = "Unknown tool 'git__pid': no configured server provides it (servers: git)"

        // Before any list (the router chain alone decides), then once the list is loaded.
        let before = try Self.call(host, id: "before", "git__pid")
        #expect(Self.error(before).code == -32602 && Self.error(before).message == unknown, "\(before)")
        let tools = try Self.toolNames(host, id: "list")
        #expect(!tools.contains("whoami") && !tools.contains("git__pid") && tools.contains("git__echo"), "\(tools)")
        let after = try Self.call(host, id: "after", "git__pid")
        #expect(Self.error(after).code == -32602 && Self.error(after).message == unknown, "\(after)")
        #expect(Self.error(try Self.call(host, id: "alias", "whoami")).code == -32602)
        #expect(firstText(try Self.call(host, id: "echo", "git__echo", ["text": "ok"])) == "ok")
        #expect(Self.calledTools(gitLog) == ["echo"], "\(Self.calledTools(gitLog))")
        host.closeStdin()
        try host.waitForExit()
    }

    // MARK: - Identity

    @Test func twoTokensSeeDifferentTools() async throws {
        let dir = try Paths.temporaryDirectory()
        let gitLog = dir + "/git.log"
        let config = try Self.writeServers(["git": fakeServer(name: "git", log: gitLog)],
                                           routers: ["mcph.namespace", "mcph.filter"],
                                           plugins: ["mcph.filter": ["subjects": ["alice": ["deny": ["git__pid", "git__crash"]]],
                                                                     "roles": ["ops": ["allow": ["*"]]]]],
                                           in: dir)
        let tokens = dir + "/tokens"
        try "# two people\ntok-alice-1234 subject=alice\ntok-bob-5678\tsubject=bob roles=ops\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        let http = try HTTPHost(config: config, extra: ["--auth-token-file", tokens])

        func initialize(_ token: String) async throws -> String {
            let reply = try await http.post(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bob","version":"1"}}}"#,
                                            session: nil, extra: ["Authorization": "Bearer \(token)"])
            guard reply.status == 200, let id = reply.header("Mcp-Session-Id") else { throw TestFailure("initialize: \(reply.status) \(reply.body)") }
            _ = try await http.post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, session: id, extra: ["Authorization": "Bearer \(token)"])
            return id
        }
        func post(_ body: String, _ session: String, _ token: String) async throws -> HTTPHost.Reply {
            try await http.post(body, session: session, extra: ["Authorization": "Bearer \(token)"])
        }
        func tools(_ session: String, _ token: String) async throws -> [String] {
            let reply = try await post(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, session, token)
            return (((reply.json?["result"] as? [String: Any])?["tools"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
        }
        let pidCall = #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"git__pid","arguments":{}}}"#

        // Alice (who calls herself "bob" in clientInfo: that counts for nothing).
        let alice = try await initialize("tok-alice-1234")
        // Refused before any list, with exactly the answer for a name no server provides.
        let refused = try await post(pidCall, alice, "tok-alice-1234")
        let unknown = try await post(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"zz__pid","arguments":{}}}"#, alice, "tok-alice-1234")
        let refusedError = refused.json?["error"] as? [String: Any]
        #expect(refusedError?["code"] as? Int == -32602, "\(refused.body)")
        #expect(refusedError?["message"] as? String == "Unknown tool 'git__pid': no configured server provides it (servers: git)", "\(refused.body)")
        #expect((unknown.json?["error"] as? [String: Any])?["message"] as? String == "Unknown tool 'zz__pid': no configured server provides it (servers: git)",
                "a hidden name reads like a missing one: \(unknown.body)")
        let aliceTools = try await tools(alice, "tok-alice-1234")
        #expect(aliceTools.contains("git__echo") && !aliceTools.contains("git__pid") && !aliceTools.contains("git__crash"), "\(aliceTools)")

        let bob = try await initialize("tok-bob-5678")
        let bobTools = try await tools(bob, "tok-bob-5678")
        #expect(bobTools.contains("git__pid") && bobTools.contains("git__crash"), "\(bobTools)")
        let answered = try await post(pidCall, bob, "tok-bob-5678")
        #expect(((answered.json?["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] != nil, "\(answered.body)")

        // A session belongs to the identity that opened it: Alice's token does not reach Bob's view.
        #expect(try await post(pidCall, bob, "tok-alice-1234").status == 404)
        // Still refused for Alice after the list is loaded.
        #expect(((try await post(pidCall, alice, "tok-alice-1234")).json?["error"] as? [String: Any])?["code"] as? Int == -32602)
        #expect(Self.calledTools(gitLog) == ["pid"], "only Bob's call reached the backend: \(Self.calledTools(gitLog))")
        #expect(!http.host.stderr.contains("tok-alice-1234") && !http.host.stderr.contains("tok-bob-5678"), "tokens are never logged")
        http.host.process.terminate()
    }

    // MARK: - Start-up errors

    @Test func aRouterThatIsNotLoadedIsAStartUpError() throws {
        let dir = try Paths.temporaryDirectory()
        let config = try Self.writeServers(["git": fakeServer(name: "git")], routers: ["mcph.namespace", "mcph.nope"], plugins: [:], in: dir)
        let fromFile = try run(Paths.host, ["tools", "--plugins", Paths.pluginsDir, "--config", config])
        #expect(fromFile.status == 64, "\(fromFile.stderr)")
        #expect(fromFile.stderr.contains("'mcph.nope'") && fromFile.stderr.contains("routers"), "\(fromFile.stderr)")

        let fromFlag = try run(Paths.host, ["tools", "--plugins", Paths.pluginsDir, "--config", config, "--router", "mcph.namespace", "--router", "mcph.missing"])
        #expect(fromFlag.status == 64, "\(fromFlag.stderr)")
        #expect(fromFlag.stderr.contains("'mcph.missing'") && fromFlag.stderr.contains("--router"), "\(fromFlag.stderr)")
        #expect(!fromFlag.stderr.contains("mcph.nope"), "--router overrides the file: \(fromFlag.stderr)")

        let badFilter = try Self.writeServers(["git": fakeServer(name: "git")], routers: ["mcph.namespace", "mcph.filter"],
                                              plugins: ["mcph.filter": ["servers": ["git": ["deny": "x"]]]], in: dir)
        let refused = try run(Paths.host, ["tools", "--plugins", Paths.pluginsDir, "--config", badFilter])
        #expect(refused.status == 64, "a filter that refuses its settings is not loaded, so the chain cannot start: \(refused.stderr)")
        #expect(refused.stderr.contains("servers.git.deny"), "\(refused.stderr)")
    }

    @Test func aBadTokenFileLineIsAStartUpError() throws {
        let dir = try Paths.temporaryDirectory()
        let config = try writeConfig(["git": fakeServer(name: "git")], in: dir)
        let tokens = dir + "/tokens"
        try "secret-token-1 subject=alice\nsecret-token-2 team=ops\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        let result = try run(Paths.host, ["serve", "--plugins", Paths.pluginsDir, "--config", config, "--http", "127.0.0.1:0", "--auth-token-file", tokens])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("line 2"), "\(result.stderr)")
        #expect(!result.stderr.contains("secret-token"), "no token in the message: \(result.stderr)")
    }
}
