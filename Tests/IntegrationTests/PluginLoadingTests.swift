import Foundation
import Testing

/// Plugins are loaded with dlopen from drop-in directories; bad ones are refused with a reason and
/// the host carries on. A transport written in plain C against the header alone works.
@Suite(.serialized)
struct PluginLoadingTests {
    static let header = Paths.packageRoot + "/Sources/PluginAPI/include"

    /// Compiles a C file into a shared library with the system compiler.
    static func compile(_ source: String, to output: String) throws {
        let result = try run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Werror", "-shared", "-fPIC", "-pthread",
                                             "-I", header, "-o", output, source])
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
        try Self.compile(Paths.packageRoot + "/Examples/c-echo-transport/echo_transport.c", to: dir + "/40-c-echo.so")
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
}
