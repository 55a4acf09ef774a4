import Foundation
import Testing

/// A misbehaving transport plugin (an error from `send`, a refusal to open, output that is not
/// JSON-RPC, a `send` that blocks for ever) gives its own callers clear errors, is named in the
/// log when it blocks, and never stops the host from serving its other backends.
@Suite(.serialized)
struct FaultContainmentTests {
    static let directory = Paths.packageRoot + "/Tests/IntegrationTests/c/misbehaving"

    /// A host whose plugin directory holds the bundled plugins plus one misbehaving transport
    /// (`"fixture"`), serving server `bad` through it and a fake backend `good`.
    private func host(_ fixture: String, marker: String, extra: [String] = []) throws -> HostProcess {
        let plugins = try PluginLoadingTests.pluginDirectory()
        try PluginLoadingTests.compile(Self.directory + "/\(fixture).c", to: plugins + "/lib\(fixture).so")
        let dir = try Paths.temporaryDirectory()
        var good = fakeServer(name: "good")
        good["args"] = ["-u", Paths.fakeBackend, marker]
        let config = try writeConfig(["bad": ["transport": "fixture"], "good": good], in: dir)
        let host = try HostProcess(arguments: ["--plugins", plugins, "--config", config, "--log-level", "debug"] + extra)
        try host.initialize()
        return host
    }

    private func errorMessage(_ response: [String: Any]) -> String? {
        if let error = response["error"] as? [String: Any] { return error["message"] as? String }
        if let result = response["result"] as? [String: Any], result["isError"] as? Bool == true { return firstText(response) }
        return nil
    }

    private func goodStillAnswers(_ host: HostProcess, id: String) throws {
        try host.request(id, "tools/call", ["name": "good__echo", "arguments": ["text": id]])
        #expect(firstText(try host.response(id: id)) == id, "the other backend kept serving")
    }

    @Test(arguments: [
        ("send_fails", "its transport plugin's send failed"),
        ("open_fails", "fixture: refusing to open on purpose"),
        ("garbage", "invalid JSON-RPC"),
    ])
    func aMisbehavingTransportFailsOnlyItsOwnCallsWithAClearError(fixture: String, expected: String) throws {
        let marker = "fault-\(fixture)-\(UUID().uuidString.prefix(8))"
        let host = try host(fixture, marker: marker)
        try goodStillAnswers(host, id: "before")
        let started = Date()
        try host.request("bad", "tools/call", ["name": "bad__anything", "arguments": [:]])
        let answer = try host.response(id: "bad", timeout: 30)
        let message = try #require(errorMessage(answer), "an error, not a result: \(answer)")
        #expect(message.contains("'bad'") && message.contains(expected), "\(message)")
        #expect(Date().timeIntervalSince(started) < 10, "answered at once, not at the request deadline")
        try goodStillAnswers(host, id: "after")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
        #expect(waitForNoProcesses(containing: marker).isEmpty)
    }

    @Test func aTransportThatBlocksInSendIsNamedAndTheOtherBackendsGoOn() throws {
        let marker = "fault-blocks-\(UUID().uuidString.prefix(8))"
        let host = try host("send_blocks", marker: marker, extra: ["--request-timeout", "3"])
        try goodStillAnswers(host, id: "before")
        let started = Date()
        try host.request("bad", "tools/call", ["name": "bad__anything", "arguments": [:]])
        // Meanwhile the other backend answers, again and again.
        for round in 0..<3 { try goodStillAnswers(host, id: "during-\(round)") }
        let answer = try host.response(id: "bad", timeout: 20)
        #expect((answer["error"] as? [String: Any])?["code"] as? Int == -32001, "the blocked call times out: \(answer)")
        #expect(Date().timeIntervalSince(started) < 12)
        _ = try waitFor("the log to name the plugin blocked in send", timeout: 10) {
            host.stderr.contains("plugin 'misbehaving.send-blocks' has been blocked in send") ? true : nil
        }
        try goodStillAnswers(host, id: "after")
        // A plugin that never returns from send cannot be shut down gracefully: end the host the
        // hard way; its backends still go with it (the supervisors' lifeline).
        kill(host.process.processIdentifier, SIGKILL)
        _ = try host.waitForExit()
        #expect(waitForNoProcesses(containing: marker).isEmpty, "the good backend outlived the host")
    }

    /// A plugin whose settings are invalid is not loaded at all, so a filter never runs without its
    /// rules (which would show everything): a chain that lists it does not start.
    @Test func aFilterWithInvalidSettingsIsNotLoadedAndTheChainDoesNotStart() throws {
        let dir = try Paths.temporaryDirectory()
        let path = dir + "/servers.json"
        let text = #"{"routers": ["mcph.namespace", "mcph.filter"], "plugins": {"mcph.filter": {"servers": {"f": {"deny": ["${MCPH_TEST_UNSET_PATTERN}"]}}}}, "mcpServers": {"f": {"command": "python3", "args": ["-u", "\#(Paths.fakeBackend)"]}}}"#
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try run(Paths.host, ["tools", "--plugins", Paths.pluginsDir, "--config", path])
        #expect(result.status != 0, "the host must not run with a filter that has no rules: \(result.stdout)")
        #expect(!result.stdout.contains("f__echo"), "nothing listed: \(result.stdout)")
        #expect(result.stderr.contains("mcph.filter") && result.stderr.contains("MCPH_TEST_UNSET_PATTERN"), "\(result.stderr.suffix(2000))")
    }
}
