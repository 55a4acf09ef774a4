import Foundation
import Testing

/// The catalog cache through the real binary: a second host lists from it without spawning a
/// backend, a call still starts the backend, changed tools refresh it (list_changed, or the next
/// start), a changed config misses only its own entry, a corrupt file is a warning.
@Suite(.serialized)
struct CatalogCacheTests {
    /// One fake backend with a unique marker on its command line (to count its processes), its
    /// message log, and a tools file that changes its tools without changing the config.
    struct Setup {
        let dir: String
        let state: String
        let log: String
        let toolsFile: String
        let marker = "cc\(Int.random(in: 100_000...999_999))"

        init() throws {
            dir = try Paths.temporaryDirectory()
            state = dir + "/state"
            log = dir + "/f.log"
            toolsFile = dir + "/tools.txt"
        }

        func server(extra: [String: String] = [:]) -> [String: Any] {
            var env = ["FAKE_BACKEND_NAME": "f", "FAKE_BACKEND_LOG": log, "FAKE_BACKEND_TOOLS_FILE": toolsFile]
            for (k, v) in extra { env[k] = v }
            return ["command": "python3", "args": ["-u", Paths.fakeBackend, marker], "env": env]
        }

        func config(_ servers: [String: Any]? = nil) throws -> String {
            try writeConfig(servers ?? ["f": server()], in: dir)
        }

        /// A host on this state directory, initialized as a client.
        func host(_ servers: [String: Any]? = nil) throws -> HostProcess {
            let host = try HostProcess(config: try config(servers), environment: ["MCP_HOST_STATE_DIR": state])
            try host.initialize()
            return host
        }

        /// How often the backend was started (its initialize requests) since the log was reset.
        func starts(_ path: String? = nil) throws -> Int {
            try loggedMessages(path ?? log).filter { $0["method"] as? String == "initialize" }.count
        }

        func resetLog() { try? FileManager.default.removeItem(atPath: log) }

        var cacheFiles: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: state + "/catalog")) ?? [])
                .filter { $0.hasSuffix(".json") }.map { state + "/catalog/" + $0 }
        }

        func setTools(_ names: [String]) throws {
            try (names.joined(separator: "\n") + "\n").write(toFile: toolsFile, atomically: true, encoding: .utf8)
        }
    }

    private func tools(_ host: HostProcess, id: Int) throws -> [[String: Any]] {
        try host.request(id, "tools/list")
        return try #require((try host.response(id: id)["result"] as? [String: Any])?["tools"] as? [[String: Any]])
    }

    private func names(_ tools: [[String: Any]]) -> [String] { tools.compactMap { $0["name"] as? String }.sorted() }

    /// Each tool as canonical JSON text, to compare everything a client sees.
    private func canonical(_ tools: [[String: Any]]) throws -> [String] {
        try tools.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }.sorted()
    }

    private func stop(_ host: HostProcess) throws {
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func aSecondHostListsFromTheCacheWithoutSpawningTheBackend() throws {
        let setup = try Setup()
        let first = try setup.host()
        let listed = try tools(first, id: 1)
        #expect(names(listed).contains("f__echo"))
        try stop(first)
        #expect(setup.cacheFiles.count == 1, "\(setup.cacheFiles)")
        #expect(waitForNoProcesses(containing: setup.marker).isEmpty)

        setup.resetLog()
        let second = try setup.host()
        let cached = try tools(second, id: 1)
        #expect(try canonical(cached) == canonical(listed), "the same tools, byte for byte as JSON")
        #expect(try setup.starts() == 0, "the backend was started to list")
        #expect(processes(containing: setup.marker).isEmpty, "a backend process was spawned")
        #expect(second.stderr.contains("catalog loaded from the cache"), "\(second.stderr.suffix(2000))")

        // A call starts it as usual; its start lists again (a refresh, the cache's only source).
        try second.request(2, "tools/call", ["name": "f__echo", "arguments": ["text": "hi"]])
        #expect(firstText(try second.response(id: 2)) == "hi")
        #expect(try setup.starts() == 1)
        _ = try waitFor("the refresh after the start") {
            try loggedMessages(setup.log).contains { $0["method"] as? String == "tools/list" } ? true : nil
        }
        try stop(second)
    }

    @Test func listChangedRefreshesTheCacheForTheNextHost() throws {
        let setup = try Setup()
        let first = try setup.host()
        #expect(!names(try tools(first, id: 1)).contains("f__added"))
        try setup.setTools(["added"])
        try first.request(2, "tools/call", ["name": "f__announce", "arguments": [:]])
        _ = try first.response(id: 2)
        _ = try first.next(timeout: 10, "tools/list_changed") { $0["method"] as? String == "notifications/tools/list_changed" }
        // The host lists the running backend again by itself, and rewrites the entry (the cache
        // is written on its own thread: the first entry may still be on its way).
        let file = try waitFor("the cache entry") { setup.cacheFiles.first }
        _ = try waitFor("the refreshed cache entry") {
            (try? String(contentsOfFile: file, encoding: .utf8))?.contains(#""name":"added""#) == true ? true : nil
        }
        try stop(first)

        setup.resetLog()
        let second = try setup.host()
        #expect(names(try tools(second, id: 1)).contains("f__added"))
        #expect(try setup.starts() == 0)
        try stop(second)
    }

    /// Tools that changed while no host ran: the next start (for a call) lists again; clients that
    /// were shown the cached tools get list_changed, and the host after that lists the new tools.
    @Test func aStartForACallRefreshesTheCacheAndTellsClients() throws {
        let setup = try Setup()
        let first = try setup.host()
        _ = try tools(first, id: 1)
        try stop(first)

        try setup.setTools(["later"])
        setup.resetLog()
        let second = try setup.host()
        #expect(!names(try tools(second, id: 1)).contains("f__later"), "served from the cache, which predates the change")
        #expect(try setup.starts() == 0)
        try second.request(2, "tools/call", ["name": "f__echo", "arguments": ["text": "x"]])
        #expect(firstText(try second.response(id: 2)) == "x")
        _ = try second.next(timeout: 10, "tools/list_changed") { $0["method"] as? String == "notifications/tools/list_changed" }
        #expect(names(try tools(second, id: 3)).contains("f__later"))
        try stop(second)

        setup.resetLog()
        let third = try setup.host()
        #expect(names(try tools(third, id: 1)).contains("f__later"))
        #expect(try setup.starts() == 0)
        try stop(third)
    }

    @Test func aChangedServerConfigMissesOnlyItsOwnEntry() throws {
        let setup = try Setup()
        let otherLog = setup.dir + "/g.log"
        var other = fakeServer(name: "g", log: otherLog)
        other["args"] = ["-u", Paths.fakeBackend, setup.marker + "g"]
        let first = try setup.host(["f": setup.server(), "g": other])
        #expect(names(try tools(first, id: 1)).contains("g__echo"))
        try stop(first)
        #expect(setup.cacheFiles.count == 2)

        setup.resetLog()
        try? FileManager.default.removeItem(atPath: otherLog)
        let changed = setup.server(extra: ["FAKE_BACKEND_EXTRA_TOOL": "fresh"])
        let second = try setup.host(["f": changed, "g": other])
        let listed = names(try tools(second, id: 1))
        #expect(listed.contains("f__fresh"), "the changed server was listed again: \(listed)")
        #expect(listed.contains("g__echo"))
        #expect(try setup.starts() == 1, "the changed server is started to list")
        #expect(try setup.starts(otherLog) == 0, "the unchanged server is served from its entry")
        try stop(second)
        #expect(setup.cacheFiles.count == 3, "the old entry is left (not pruned) for another config")
    }

    @Test func aCorruptCacheFileIsAWarningAndANormalStart() throws {
        let setup = try Setup()
        let first = try setup.host()
        let listed = names(try tools(first, id: 1))
        try stop(first)
        let file = try #require(setup.cacheFiles.first)
        try Data(#"{"format":1,"key":"#.utf8).write(to: URL(fileURLWithPath: file))

        setup.resetLog()
        let second = try setup.host()
        #expect(names(try tools(second, id: 1)) == listed)
        #expect(try setup.starts() == 1, "listed by the backend instead")
        #expect(second.stderr.contains("catalog cache entry \(file) unusable"), "\(second.stderr.suffix(2000))")
        try stop(second)
        let rewritten = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect((try? JSONSerialization.jsonObject(with: rewritten)) is [String: Any], "the entry was rebuilt")
    }

    @Test func theToolsCommandAndHealthAnswerFromTheCache() async throws {
        let setup = try Setup()
        let base = ["--plugins", Paths.pluginsDir, "--config", try setup.config()]
        let environment = ["MCP_HOST_STATE_DIR": setup.state]
        let first = try run(Paths.host, ["tools"] + base, environment: environment)
        #expect(first.stdout.contains("f__echo"), "\(first.stderr)")
        #expect(try setup.starts() == 1)
        #expect(setup.cacheFiles.count == 1, "mcp-host tools writes the entry before it exits")

        setup.resetLog()
        let second = try run(Paths.host, ["tools"] + base, environment: environment)
        #expect(second.stdout == first.stdout)
        #expect(try setup.starts() == 0)

        let http = try HTTPHost(config: try setup.config(), environment: environment)
        let health = try #require(try await http.send("GET", "/health").json)
        #expect(health["tools"] as? Int == first.stdout.split(separator: "\n").count, "\(health)")
        #expect(health["backends_connected"] as? Int == 0)
        #expect(try setup.starts() == 0)
    }
}
