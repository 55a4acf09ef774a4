import Foundation
import Testing

/// Plugins are loaded with dlopen from drop-in directories; bad ones are refused with a reason and
/// the host carries on. A transport written in plain C against the header alone works.
@Suite(.serialized)
struct PluginLoadingTests {
    static let header = Paths.packageRoot + "/Sources/PluginAPI/include"

    /// The frozen ABI 1.0 header and a plugin built against it (never edited).
    static let fixture10 = Paths.packageRoot + "/Tests/Fixtures/abi-1.0"
    static let echoSource = Paths.packageRoot + "/examples/c-echo-transport/echo_transport.c"

    /// Compiles a C file into a shared library with the system compiler (against the current
    /// header unless `include` names another directory).
    static func compile(_ source: String, to output: String, include: String = header, defines: [String] = []) throws {
        let result = try run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Werror", "-shared", "-fPIC", "-pthread",
                                             "-I", include] + defines.map { "-D" + $0 } + ["-o", output, source])
        guard result.status == 0 else { throw TestFailure("cc failed for \(source):\n\(result.stderr)") }
    }

    /// A plugin directory with the repository's manifests (bundled plugins) plus `extra` files.
    static func pluginDirectory() throws -> String {
        let dir = try Paths.temporaryDirectory() + "/plugins.d"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Paths.pluginsDir) where name.hasSuffix(".plugin") {
            try FileManager.default.copyItem(atPath: Paths.pluginsDir + "/" + name, toPath: dir + "/" + name)
        }
        return dir
    }

    @Test func pluginsCommandListsLoadedAndRejectedPlugins() throws {
        let dir = try Self.pluginDirectory()
        let tests = Paths.packageRoot + "/Tests/IntegrationTests/c"
        try Self.compile(tests + "/wrong_major.c", to: dir + "/20-wrong-major.so")
        try Self.compile(tests + "/entry_v2.c", to: dir + "/21-entry-v2.so")
        try Self.compile(tests + "/failing_init.c", to: dir + "/22-failing-init.so")
        try "not an ELF file".write(toFile: dir + "/23-garbage.so", atomically: true, encoding: .utf8)
        try "notes".write(toFile: dir + "/README.txt", atomically: true, encoding: .utf8)
        try "${EXE_DIR}/libmcph-stdio.so\n".write(toFile: dir + "/30-duplicate.plugin", atomically: true, encoding: .utf8)
        try "/nonexistent/libfoo.so\n".write(toFile: dir + "/31-missing.plugin", atomically: true, encoding: .utf8)

        let result = try run(Paths.host, ["plugins", "--plugins", dir])
        #expect(result.status == 0)
        let out = result.stdout
        #expect(out.contains("loaded   mcph.stdio  kind=transport"), "\(out)")
        #expect(out.contains("loaded   mcph.namespace  kind=router"), "\(out)")
        #expect(out.contains("transport stdio"))
        #expect(out.contains("20-wrong-major.so: built for ABI 2.0; this host speaks ABI 1.x"), "\(out)")
        #expect(out.contains("21-entry-v2.so: no 'mcph_plugin_entry_v1' symbol: it exports mcph_plugin_entry_v2 (built for ABI major 2)"), "\(out)")
        #expect(out.contains("22-failing-init.so: init failed (status 5): libfoo.so.3 is not installed"), "\(out)")
        #expect(out.contains("23-garbage.so: cannot load library:"), "\(out)")
        #expect(out.contains("30-duplicate.plugin): duplicate plugin id 'mcph.stdio'"), "\(out)")
        #expect(out.contains("31-missing.plugin): library '/nonexistent/libfoo.so' does not exist"), "\(out)")
        #expect(!out.contains("README.txt"), "non-plugin files are ignored")
    }

    @Test func hostServesWithBadPluginsPresent() throws {
        let dir = try Self.pluginDirectory()
        try Self.compile(Paths.packageRoot + "/Tests/IntegrationTests/c/wrong_major.c", to: dir + "/20-wrong-major.so")
        let config = try writeConfig(["f": fakeServer(name: "f")], in: try Paths.temporaryDirectory())
        let host = try HostProcess(arguments: ["--plugins", dir, "--config", config])
        try host.initialize()
        try host.request(1, "tools/call", ["name": "f__echo", "arguments": ["text": "ok"]])
        #expect(firstText(try host.response(id: 1)) == "ok")
        #expect(host.stderr.contains("built for ABI 2.0"), "the rejection is logged")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    @Test func aTransportWrittenInPlainCServesTools() throws {
        let dir = try Self.pluginDirectory()
        try Self.compile(Paths.packageRoot + "/examples/c-echo-transport/echo_transport.c", to: dir + "/40-c-echo.so")
        let config = try writeConfig(["cecho": ["transport": "c-echo"], "f": fakeServer(name: "f")], in: try Paths.temporaryDirectory())

        let tools = try run(Paths.host, ["tools", "--plugins", dir, "--config", config])
        #expect(tools.status == 0, "\(tools.stderr)")
        #expect(tools.stdout.contains("cecho__echo"), "\(tools.stdout)")
        #expect(tools.stdout.contains("[cecho] Returns its arguments (from a plugin written in C)"))
        #expect(tools.stdout.contains("f__echo"))

        let call = try run(Paths.host, ["call", "cecho__echo", #"{"x": [1, 2]}"#, "--plugins", dir, "--config", config])
        #expect(call.status == 0, "\(call.stderr)")
        #expect(call.stdout == "echoed by cecho\n")

        // Through the stdio front-end the arguments come back byte for byte as structuredContent.
        let host = try HostProcess(arguments: ["--plugins", dir, "--config", config])
        try host.initialize()
        host.send(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"cecho__echo","arguments":{"x": [1, 2]}}}"#)
        let line = try host.next(where: { sameID($0["id"], 1) }).line
        #expect(line.contains(#""structuredContent":{"x": [1, 2]}"#), "\(line)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    @Test func theHeaderCompilesAsCAndCPlusPlus() throws {
        let probe = try Paths.temporaryDirectory() + "/probe.c"
        try "#include \"mcph_plugin.h\"\nint main(void) { return (int)sizeof(mcph_transport_v1) == 0; }\n"
            .write(toFile: probe, atomically: true, encoding: .utf8)
        for (compiler, flags) in [("cc", ["-std=c99", "-pedantic", "-x", "c"]), ("c++", ["-std=c++11", "-pedantic", "-x", "c++"])] {
            let result = try run("/usr/bin/env", [compiler] + flags + ["-Wall", "-Werror", "-fsyntax-only", "-I", Self.header, probe])
            #expect(result.status == 0, "\(compiler): \(result.stderr)")
        }
    }

    // MARK: - The ABI's promises (issue 7)

    /// A plugin built against the frozen 1.0 header keeps loading and working in this host, as a
    /// transport and as a router (whose 1.0 "hide" answer, 1, still hides).
    @Test func aPluginBuiltAgainstABI1_0StillLoadsAndWorks() throws {
        let dir = try Self.pluginDirectory()
        try Self.compile(Self.fixture10 + "/fixture_plugin.c", to: dir + "/50-fixture10.so", include: Self.fixture10)
        let listing = try run(Paths.host, ["plugins", "--plugins", dir])
        #expect(listing.stdout.contains("loaded   fixture.abi10  kind=transport,router  version=1.0.0  abi=1.0"), "\(listing.stdout)")

        let config = try writeConfig(["fx": ["transport": "fixture10"]], in: try Paths.temporaryDirectory())
        let host = try HostProcess(arguments: ["--plugins", dir, "--config", config, "--router", "fixture.abi10", "--log-level", "debug"])
        try host.initialize()
        try host.request(1, "tools/list")
        let tools = ((try host.response(id: 1)["result"] as? [String: Any])?["tools"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(tools == ["fx__echo"], "the 1.0 router shows echo and hides `hidden`: \(tools)")
        host.send(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fx__echo","arguments":{"v":[1,"two"]}}}"#)
        let line = try host.next(where: { sameID($0["id"], 2) }).line
        #expect(line.contains(#""structuredContent":{"v":[1,"two"]}"#), "\(line)")
        #expect(!host.stderr.contains("failed to expose"), "a 1.0 router's hide is not an error: \(host.stderr)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// `deinit` runs right away for a plugin refused after its init succeeded, and for every
    /// loaded plugin when the host ends.
    @Test func deinitRunsForRefusedPluginsAndAtShutdown() throws {
        let dir = try Self.pluginDirectory()
        try Self.compile(Self.fixture10 + "/fixture_plugin.c", to: dir + "/50-fixture10.so", include: Self.fixture10)
        // Same transport name under another id: refused after init.
        try Self.compile(Self.fixture10 + "/fixture_plugin.c", to: dir + "/51-fixture10-copy.so", include: Self.fixture10,
                         defines: [#"FIXTURE_ID="fixture.copy""#])
        let temp = try Paths.temporaryDirectory()
        let marker = temp + "/deinit.log"
        func deinits() -> [String] {
            ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        let listing = try run(Paths.host, ["plugins", "--plugins", dir], environment: ["MCPH_FIXTURE_DEINIT_FILE": marker])
        #expect(listing.stdout.contains("51-fixture10-copy.so: transport 'fixture10' is already provided by plugin 'fixture.abi10'"), "\(listing.stdout)")
        #expect(deinits() == ["deinit fixture.copy", "deinit fixture.abi10"], "refused at load, then the loaded one at exit: \(deinits())")

        try FileManager.default.removeItem(atPath: marker)
        let config = try writeConfig(["fx": ["transport": "fixture10"]], in: temp)
        let host = try HostProcess(arguments: ["--plugins", dir, "--config", config], environment: ["MCPH_FIXTURE_DEINIT_FILE": marker])
        try host.initialize()
        #expect(deinits() == ["deinit fixture.copy"], "the refused copy is ended at load time")
        // Raw lines: the C plugins match methods byte for byte (JSONSerialization writes "tools\/call").
        host.send(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fx__echo","arguments":{}}}"#)
        let answer = try host.response(id: 1)
        #expect(firstText(answer) == "fixture 1.0", "\(answer)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
        #expect(deinits() == ["deinit fixture.copy", "deinit fixture.abi10"], "the loaded plugin is ended after its connection: \(deinits())")
    }

    /// A backend that sends the host `ping` while its request is in flight: the host answers from
    /// another thread, never re-entering the plugin inside its callback (c-echo aborts if it does).
    @Test func theHostNeverReentersAPluginFromItsCallbacks() throws {
        let dir = try Self.pluginDirectory()
        try Self.compile(Self.echoSource, to: dir + "/40-c-echo.so")
        let config = try writeConfig(["cecho": ["transport": "c-echo", "ping": 1]], in: try Paths.temporaryDirectory())
        let host = try HostProcess(arguments: ["--plugins", dir, "--config", config])
        try host.initialize()
        for id in 1...3 {
            host.send(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"cecho__echo","arguments":{}}}"#)
            let text = firstText(try host.response(id: id))
            // Each call's ping is answered before the next call reaches the plugin (one outbox, in order).
            #expect(text == "echoed by cecho (pongs: \(id - 1))", "\(text ?? "nil"); stderr: \(host.stderr)")
        }
        host.closeStdin()
        #expect(try host.waitForExit() == 0, "\(host.stderr)")
        #expect(!host.stderr.contains("ABI contract broken"), "\(host.stderr)")
    }

    /// A plugin that answers MCPH_E_AGAIN (queue of one) and WRITABLE later: the host keeps the
    /// messages in order and every call is answered, none refused.
    @Test func backPressureKeepsMessagesUntilWritable() throws {
        let dir = try Self.pluginDirectory()
        try Self.compile(Self.echoSource, to: dir + "/40-c-echo.so")
        let config = try writeConfig(["cecho": ["transport": "c-echo", "queue_limit": 1, "delay_ms": 2]], in: try Paths.temporaryDirectory())
        let host = try HostProcess(arguments: ["--plugins", dir, "--config", config])
        try host.initialize()
        host.send(#"{"jsonrpc":"2.0","id":0,"method":"tools/call","params":{"name":"cecho__echo","arguments":{}}}"#) // started and warm
        _ = try host.response(id: 0)
        let count = 60
        for id in 1...count {
            host.send(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"cecho__echo","arguments":{"n":\#(id)}}}"#)
        }
        for id in 1...count {
            let response = try host.response(id: id)
            #expect(response["error"] == nil, "call \(id) was refused: \(response)")
            let structured = (response["result"] as? [String: Any])?["structuredContent"] as? [String: Any]
            #expect(structured?["n"] as? Int == id)
        }
        host.closeStdin()
        #expect(try host.waitForExit() == 0, "\(host.stderr)")
    }

    /// Opens of one plugin's connections (list fan-out starts every backend at once) never
    /// overlap with each other or with a destroy (c-echo aborts if they do).
    @Test func opensAndDestroysOfOnePluginNeverOverlap() throws {
        let dir = try Self.pluginDirectory()
        try Self.compile(Self.echoSource, to: dir + "/40-c-echo.so")
        var servers: [String: Any] = [:]
        for i in 1...6 { servers["e\(i)"] = ["transport": "c-echo", "open_delay_ms": 40] }
        let config = try writeConfig(servers, in: try Paths.temporaryDirectory())
        let host = try HostProcess(arguments: ["--plugins", dir, "--config", config])
        try host.initialize()
        try host.request(1, "tools/list")
        let tools = ((try host.response(id: 1)["result"] as? [String: Any])?["tools"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(Set(tools) == Set((1...6).map { "e\($0)__echo" }), "\(tools); \(host.stderr)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0, "\(host.stderr)")
        #expect(!host.stderr.contains("ABI contract broken"), "\(host.stderr)")
    }
}
