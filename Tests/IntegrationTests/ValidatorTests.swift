import Foundation
import Testing

/// `mcp-host validate-plugin` (issue 12): the conformance suite passes every bundled plugin and the
/// C example, and fails each deliberately broken fixture (Tests/IntegrationTests/c/broken, one
/// rule each) on exactly the check that names its defect.
///
/// Serialized: the suite times calls (send under 50 ms, open under 100 ms), so its runs are kept
/// from competing with each other for the CPU.
@Suite(.serialized)
struct ValidatorTests {
    static let brokenDirectory = Paths.packageRoot + "/Tests/IntegrationTests/c/broken"

    /// What one run of the validator printed (`--json`) and its exit status.
    struct Run {
        let status: Int32
        let json: [String: Any]
        let stderr: String

        var checks: [(id: String, status: String, detail: String)] {
            ((json["checks"] as? [[String: Any]]) ?? []).map {
                ($0["id"] as? String ?? "?", $0["status"] as? String ?? "?", $0["detail"] as? String ?? "")
            }
        }

        var failed: Set<String> { Set(checks.filter { $0.status == "FAIL" }.map(\.id)) }

        func status(of id: String) -> String? { checks.first { $0.id == id }?.status }

        func detail(of id: String) -> String { checks.first { $0.id == id }?.detail ?? "" }

        /// The report in a form that reads well in a failed expectation.
        var shown: String {
            checks.map { "\($0.status)  \($0.id)  \($0.detail)" }.joined(separator: "\n") + "\nexit \(status)\nstderr: \(stderr.suffix(2000))"
        }
    }

    /// Runs `mcp-host validate-plugin LIBRARY --json` (with `config` as --connection-config).
    static func validate(_ library: String, config: [String: Any]? = nil, timeout: Double = 30) throws -> Run {
        var arguments = ["validate-plugin", library, "--json", "--timeout", "\(timeout)"]
        if let config {
            let data = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .withoutEscapingSlashes])
            arguments += ["--connection-config", String(decoding: data, as: UTF8.self)]
        }
        let result = try run(Paths.host, arguments)
        guard let json = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] else {
            throw TestFailure("validate-plugin printed no JSON report (exit \(result.status)):\n\(result.stdout)\n\(result.stderr)")
        }
        return Run(status: result.status, json: json, stderr: result.stderr)
    }

    /// Every check ran and passed (none skipped unless listed in `skipped`).
    static func expectPassed(_ run: Run, skipped: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.status == 0, "\(run.shown)", sourceLocation: sourceLocation)
        #expect(run.failed.isEmpty, "\(run.shown)", sourceLocation: sourceLocation)
        let skips = Set(run.checks.filter { $0.status == "SKIP" }.map(\.id))
        #expect(skips == skipped, "skipped \(skips.sorted()), expected \(skipped.sorted()):\n\(run.shown)", sourceLocation: sourceLocation)
        #expect(run.checks.count >= 20, "the whole suite ran:\n\(run.shown)", sourceLocation: sourceLocation)
    }

    /// Compiles a C plugin the way the guide says (only the entry symbol exported).
    static func compile(_ source: String, to output: String) throws {
        let result = try run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Werror", "-shared", "-fPIC", "-pthread", "-fvisibility=hidden",
                                             "-I", PluginLoadingTests.header, "-o", output, source])
        guard result.status == 0 else { throw TestFailure("cc failed for \(source):\n\(result.stderr)") }
    }

    // MARK: - The bundled plugins pass

    @Test func stdioTransportWithTheFakeBackendPasses() throws {
        let run = try Self.validate(Paths.buildDir + "/libmcph-stdio.so", config: fakeServer(name: "fake").merging(["name": "fake"]) { $1 })
        // The fake backend reads as fast as the flood comes: the stdio queue (64 MiB) never fills.
        Self.expectPassed(run, skipped: ["transport.back-pressure"])
        #expect(run.detail(of: "transport.opened").contains("process "), "OPENED carries the supervisor's pid: \(run.shown)")
        #expect(run.detail(of: "transport.children").contains("process group"), "\(run.shown)")
    }

    /// A backend that reads slowly: the stdio transport's queue fills, send answers MCPH_E_AGAIN and
    /// WRITABLE follows; the back-pressure check really runs.
    @Test func stdioTransportBackPressureIsExercisedWithASlowReader() throws {
        let slowReader = """
            import json, sys, time
            for line in sys.stdin:
                message = json.loads(line)
                if "method" in message and "id" in message:
                    result = {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "slow", "version": "1"}} if message["method"] == "initialize" else {}
                    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}) + "\\n")
                    sys.stdout.flush()
                else:
                    time.sleep(0.0005)
            """
        let run = try Self.validate(Paths.buildDir + "/libmcph-stdio.so", config: ["command": "python3", "args": ["-u", "-c", slowReader], "name": "slow"])
        Self.expectPassed(run)
        #expect(run.detail(of: "transport.back-pressure").contains("2 MCPH_E_AGAIN, each followed by one WRITABLE"), "\(run.shown)")
    }

    @Test func cliTransportPasses() throws {
        let run = try Self.validate(Paths.buildDir + "/libmcph-cli.so",
                                    config: ["command": "sh", "cli": true, "name": "sh", "tools": [["name": "hello", "args": ["-c", "echo hi"]]]])
        Self.expectPassed(run)
    }

    @Test func httpTransportPassesAgainstThePythonServer() throws {
        let server = try PythonServer()
        defer { server.stop() }
        let run = try Self.validate(HTTPTransportPrerequisites.plugin, config: ["url": server.url, "name": "h"])
        Self.expectPassed(run)
        #expect(run.detail(of: "transport.opened").contains(server.url), "OPENED describes the URL: \(run.shown)")
    }

    @Test func namespaceRouterPasses() throws {
        let run = try Self.validate(Paths.buildDir + "/libmcph-namespace-router.so")
        // It has no allow (ABI 1.4, optional).
        Self.expectPassed(run, skipped: ["router.allow"])
        #expect(run.detail(of: "router.expose").contains("echo -> alpha__echo"), "\(run.shown)")
    }

    /// The TCP transport (examples/tcp-transport, bundled) against the TCP MCP server fixture, with
    /// a small send queue so that the back-pressure check really runs.
    @Test func tcpTransportPassesAgainstTheTCPServer() throws {
        let server = try TCPServer()
        defer { server.stop() }
        let run = try Self.validate(TCPTransportTests.plugin, config: ["host": "127.0.0.1", "port": server.port, "name": "tcp",
                                                                       "send_queue_messages": 4, "send_queue_bytes": 4096])
        Self.expectPassed(run)
        #expect(run.detail(of: "transport.opened").contains("tcp 127.0.0.1:\(server.port)"), "\(run.shown)")
        #expect(run.detail(of: "transport.back-pressure").contains("2 MCPH_E_AGAIN, each followed by one WRITABLE"), "\(run.shown)")
    }

    /// The bundled alias (C) and filter (Swift) routers, without settings.
    @Test func aliasAndFilterRoutersPass() throws {
        let alias = try Self.validate(Paths.buildDir + "/libmcph-alias-router.so")
        Self.expectPassed(alias, skipped: ["router.allow"]) // it has no allow
        #expect(alias.detail(of: "router.expose").contains("echo -> echo"), "\(alias.shown)")
        let filter = try Self.validate(Paths.buildDir + "/libmcph-filter-router.so")
        Self.expectPassed(filter)
        #expect(filter.detail(of: "router.allow").contains("12 allowed, 0 denied"), "\(filter.shown)")
    }

    /// The C example, compiled as PluginLoadingTests compiles it (no -fvisibility=hidden: every
    /// function but the entry is static, so nothing else is exported anyway).
    @Test func theCEchoExamplePasses() throws {
        let library = try Paths.temporaryDirectory() + "/libc-echo.so"
        try PluginLoadingTests.compile(PluginLoadingTests.echoSource, to: library)
        // A small queue and a slow worker: the flood meets back-pressure however busy the machine is.
        let run = try Self.validate(library, config: ["name": "cecho", "queue_limit": 8, "delay_ms": 5])
        Self.expectPassed(run)
        #expect(run.detail(of: "transport.back-pressure").contains("MCPH_E_AGAIN"), "\(run.shown)")
    }

    /// The correct fixture every broken one starts from passes: each failure below is its one defect.
    @Test func theFixtureBasePasses() throws {
        let library = try Paths.temporaryDirectory() + "/libfixture.so"
        try Self.compile(Self.brokenDirectory + "/fixture_base.c", to: library)
        let run = try Self.validate(library, config: [:], timeout: 5)
        Self.expectPassed(run)
        #expect(run.detail(of: "transport.back-pressure").contains("2 MCPH_E_AGAIN"), "\(run.shown)")
        #expect(run.detail(of: "router.allow").contains("allowed"), "\(run.shown)")
    }

    // MARK: - Each broken fixture fails on its rule

    /// Fixture -> the checks that must fail (exactly these). A defect that also breaks the ABI 1.0
    /// host probe (which opens a connection of its own) or the host's loader fails those too.
    static let brokenFixtures: [(file: String, failing: Set<String>)] = [
        ("extra_export", ["exports"]),
        ("open_blocks", ["transport.open"]),
        ("two_terminal", ["transport.close", "abi.old-host"]),
        ("callback_after_destroy", ["transport.destroy"]),
        ("send_blocks", ["transport.send", "abi.old-host"]),
        ("route_blocks", ["router.nonblocking", "abi.old-host"]),
        ("expose_nondeterministic", ["router.expose"]),
        ("tiny_buffer", ["router.buffers"]),
        ("leaves_child", ["transport.children"]),
        ("no_writable", ["transport.back-pressure"]),
        ("missing_function", ["interface.transport", "loader"]),
        ("reads_past_host", ["abi.old-host"]),
        ("allow_bogus", ["router.allow"]),
        ("bad_id", ["descriptor.id"]),
        ("route_inconsistent", ["router.route"]),
        ("opened_twice", ["transport.callbacks"]),
        ("no_answer", ["transport.round-trip", "abi.old-host"]),
        ("no_terminal", ["transport.close", "abi.old-host"]),
    ]

    @Test(arguments: brokenFixtures.map(\.file))
    func aBrokenFixtureFailsTheCheckNamingItsDefect(_ file: String) throws {
        let expected = try #require(Self.brokenFixtures.first { $0.file == file }).failing
        let library = try Paths.temporaryDirectory() + "/lib\(file).so"
        try Self.compile(Self.brokenDirectory + "/\(file).c", to: library)
        let started = Date()
        let run = try Self.validate(library, config: [:], timeout: 5)
        #expect(run.status == 1, "\(run.shown)")
        #expect(run.failed == expected, "failed \(run.failed.sorted()), expected \(expected.sorted()):\n\(run.shown)")
        #expect(Date().timeIntervalSince(started) < 60, "a blocking plugin is a failure, not a hang")
        for id in expected {
            #expect(!run.detail(of: id).isEmpty, "the failure says what was wrong: \(run.shown)")
        }
    }

    /// The messages name the function and the rule.
    @Test func failuresNameTheFunctionAndTheRule() throws {
        let dir = try Paths.temporaryDirectory()
        func detail(_ file: String, _ id: String) throws -> String {
            try Self.compile(Self.brokenDirectory + "/\(file).c", to: dir + "/lib\(file).so")
            return try Self.validate(dir + "/lib\(file).so", config: [:], timeout: 5).detail(of: id)
        }
        #expect(try detail("send_blocks", "transport.send").contains("send did not return within 2000 ms"))
        #expect(try detail("route_blocks", "router.nonblocking").contains("route did not return within 2000 ms"))
        #expect(try detail("extra_export", "exports").contains("fixture_extra_symbol"))
        #expect(try detail("missing_function", "interface.transport").contains("close is NULL"))
        #expect(try detail("reads_past_host", "abi.old-host").contains("signal 11 (SIGSEGV) during init"))
        #expect(try detail("two_terminal", "transport.close").contains("2 terminal events"))
        #expect(try detail("tiny_buffer", "router.buffers").contains("instead of MCPH_E_TOO_SMALL"))
        #expect(try detail("route_inconsistent", "router.route").contains("but expose made"))
        #expect(try detail("opened_twice", "transport.callbacks").contains("OPENED more than once"))
    }

    /// The process a broken transport left behind is named, and killed by the validator.
    @Test func aLeftoverProcessIsKilled() throws {
        let library = try Paths.temporaryDirectory() + "/libleaves.so"
        try Self.compile(Self.brokenDirectory + "/leaves_child.c", to: library)
        let run = try Self.validate(library, config: [:], timeout: 5)
        #expect(run.detail(of: "transport.children").contains("(sleep)"), "\(run.shown)")
        #expect(waitForNoProcesses(containing: "sleep 37.25", timeout: 5).isEmpty, "the validator leaves nothing behind")
    }

    // MARK: - The command

    @Test func textReportAndExitStatuses() throws {
        let dir = try Paths.temporaryDirectory()
        try Self.compile(Self.brokenDirectory + "/fixture_base.c", to: dir + "/libgood.so")
        let good = try run(Paths.host, ["validate-plugin", dir + "/libgood.so"])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        let lines = good.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "validate-plugin \(dir)/libgood.so", "\(good.stdout)")
        #expect(lines.contains { $0.hasPrefix("PASS  exports ") }, "\(good.stdout)")
        #expect(lines.contains { $0.hasPrefix("SKIP  transport.open ") && $0.hasSuffix("not run (give --connection-config)") }, "\(good.stdout)")
        #expect(lines.last?.hasPrefix("summary: ") == true && lines.last?.hasSuffix(": PASSED") == true, "\(good.stdout)")

        try Self.compile(Self.brokenDirectory + "/extra_export.c", to: dir + "/libextra.so")
        let bad = try run(Paths.host, ["validate-plugin", dir + "/libextra.so"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("FAIL  exports "), "\(bad.stdout)")
        #expect(bad.stdout.contains(": FAILED\n"), "\(bad.stdout)")

        // Not a plugin at all: exit 2 with the host loader's message.
        try "not an ELF file".write(toFile: dir + "/libgarbage.so", atomically: true, encoding: .utf8)
        let garbage = try run(Paths.host, ["validate-plugin", dir + "/libgarbage.so"])
        #expect(garbage.status == 2)
        #expect(garbage.stdout.contains("cannot load the plugin: cannot load library:"), "\(garbage.stdout)")
        let wrongMajor = dir + "/libmajor.so"
        try PluginLoadingTests.compile(Paths.packageRoot + "/Tests/IntegrationTests/c/wrong_major.c", to: wrongMajor)
        let major = try Self.validate(wrongMajor)
        #expect(major.status == 2)
        #expect((major.json["loadFailure"] as? String)?.hasPrefix("built for ABI 2.0; this host speaks ABI 1.x") == true, "\(major.json)")

        // --connection-config must be a JSON object.
        let usage = try run(Paths.host, ["validate-plugin", dir + "/libgood.so", "--connection-config", "[1]"])
        #expect(usage.status == 64, "\(usage.stderr)")
        #expect(usage.stderr.contains("must be a JSON object"), "\(usage.stderr)")
    }
}
