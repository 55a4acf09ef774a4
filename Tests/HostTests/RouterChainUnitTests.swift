import Foundation
import Logging
import Testing
@testable import Host

/// The router chain with the bundled routers loaded through dlopen exactly as the host loads them
/// (settings given as `plugin_config`), and the pieces around it: chain selection, the token file.
@Suite struct RouterChainUnitTests {
    /// The bundled routers, loaded with these plugin settings; fails (never skips) when one is not built.
    static func registry(settings: [String: String]) throws -> PluginRegistry {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let buildDir = ProcessInfo.processInfo.environment["MCP_HOST_BUILD_DIR"] ?? url.path + "/.build/debug"
        let dir = NSTemporaryDirectory() + "mcph-chain-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (index, name) in ["namespace-router", "alias-router", "filter-router"].enumerated() {
            let library = buildDir + "/libmcph-\(name).so"
            guard FileManager.default.fileExists(atPath: library) else { throw TestFailure("\(library) is not built: run swift build first") }
            try FileManager.default.createSymbolicLink(atPath: dir + "/\(index)-\(name).so", withDestinationPath: library)
        }
        return PluginLoader(logger: Logger(label: "test"), pluginSettings: settings.mapValues { Array($0.utf8) }).load(directories: [dir])
    }

    static func chain(_ ids: [String], settings: [String: String]) throws -> Router {
        let registry = try registry(settings: settings)
        switch RouterChain.select(ids, from: registry.routers, source: "test") {
        case .success(let chain): return Router(chain: chain)
        case .failure(let error): throw error
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let aliases = #"{"aliases": {"git__status": "status", "time__get_current_time": "now"}, "unprefix": ["time"]}"#

    @Test func exposeComposesInChainOrder() throws {
        let router = try Self.chain(["mcph.namespace", "mcph.alias", "mcph.filter"], settings: [
            "mcph.alias": Self.aliases,
            "mcph.filter": #"{"servers": {"git": {"deny": ["*push*", "status"]}}}"#,
        ])
        #expect(router.ids == ["mcph.namespace", "mcph.alias", "mcph.filter"])
        #expect(router.expose(.tool, backend: "git", name: "log") == "git__log")
        #expect(router.expose(.tool, backend: "git", name: "status") == nil, "the filter sees the alias 'status' and hides it")
        #expect(router.expose(.tool, backend: "git", name: "push") == nil)
        #expect(router.expose(.tool, backend: "time", name: "get_current_time") == "now")
        #expect(router.expose(.tool, backend: "time", name: "convert") == "convert", "un-prefixed")
        #expect(router.expose(.resource, backend: "git", name: "file:///x") == "file:///x")
    }

    @Test func routeRunsTheChainInReverse() throws {
        let router = try Self.chain(["mcph.namespace", "mcph.alias", "mcph.filter"], settings: [
            "mcph.alias": Self.aliases,
            "mcph.filter": #"{"servers": {"git": {"deny": ["git__push"]}}}"#,
        ])
        #expect(router.route(method: "tools/call", kind: .tool, name: "now") == .forward(backend: "time", name: "get_current_time"))
        #expect(router.route(method: "tools/call", kind: .tool, name: "status") == .forward(backend: "git", name: "status"))
        #expect(router.route(method: "tools/call", kind: .tool, name: "convert") == .forward(backend: "time", name: "convert"))
        #expect(router.route(method: "tools/call", kind: .tool, name: "git__log") == .forward(backend: "git", name: "log"))
        guard case .reject(let message) = router.route(method: "tools/call", kind: .tool, name: "git__push") else {
            Issue.record("a hidden name was not rejected")
            return
        }
        #expect(message.contains("git__push"))
    }

    @Test func allowAsksEveryRouterAboutTheCaller() throws {
        let router = try Self.chain(["mcph.namespace", "mcph.filter"], settings: [
            "mcph.filter": #"{"subjects": {"alice": {"deny": ["git__*"]}}, "roles": {"ops": {"allow": ["git__log"]}}}"#,
        ])
        #expect(router.checksCallers)
        let alice = Caller(subject: "alice", frontEnd: "http"), bob = Caller(subject: "bob", roles: ["ops"], frontEnd: "http")
        #expect(!router.allows(.tool, name: "git__log", caller: alice))
        #expect(router.allows(.tool, name: "time__now", caller: alice))
        #expect(router.allows(.tool, name: "git__log", caller: bob))
        #expect(!router.allows(.tool, name: "git__status", caller: bob), "the ops allow list names only git__log")
        #expect(router.allows(.tool, name: "git__status", caller: .anonymous("stdio")), "no rule applies to a caller without subject")

        var items = Catalog.Items()
        for name in ["git__log", "git__status", "time__now"] {
            items.elements.append(Array("{\"name\":\"\(name)\"}".utf8))
            items.exposed.append(name)
            items.names[name] = name
        }
        #expect(router.visible(items, .tool, to: alice).exposed == ["time__now"])
        #expect(router.visible(items, .tool, to: bob).exposed == ["git__log"], "an allow list (here the role's) admits only what it names")
        #expect(router.visible(items, .tool, to: .anonymous("http")).exposed.count == 3)
        #expect(Router(plugin: nil).visible(items, .tool, to: alice).exposed.count == 3, "no router with allow: nothing filtered")
    }

    @Test func filterReconfigureSwapsTheRules() throws {
        let registry = try Self.registry(settings: ["mcph.filter": #"{"servers": {"git": {"deny": ["git__a"]}}}"#])
        let filter = try #require(registry.routers.first { $0.plugin.info.id == "mcph.filter" })
        let router = Router(chain: [filter])
        #expect(router.expose(.tool, backend: "git", name: "git__a") == nil)
        #expect(filter.plugin.reconfigure(Array(#"{"servers": {"git": {"deny": ["git__b"]}}}"#.utf8)) == .applied)
        #expect(router.expose(.tool, backend: "git", name: "git__a") == "git__a")
        #expect(router.expose(.tool, backend: "git", name: "git__b") == nil)
        guard case .refused(let why) = filter.plugin.reconfigure(Array(#"{"servers": []}"#.utf8)) else {
            Issue.record("bad settings were not refused")
            return
        }
        #expect(why.contains("\"servers\" must be an object"), "\(why)")
        #expect(router.expose(.tool, backend: "git", name: "git__b") == nil, "the previous rules stay after a refusal")

        let alias = try #require(registry.routers.first { $0.plugin.info.id == "mcph.alias" })
        guard case .needsRestart(let message) = alias.plugin.reconfigure(Array(#"{"aliases": {"a": "b"}}"#.utf8)) else {
            Issue.record("the alias router took new settings")
            return
        }
        #expect(message.contains("alias changes need a restart"), "\(message)")
    }

    /// After the filter takes new rules, the host exposes what it knows again: lists and lookups
    /// by listed names follow the new rules at once, with no backend asked.
    @Test func reexposingTheCatalogAppliesNewRules() async throws {
        let registry = try Self.registry(settings: ["mcph.filter": #"{"servers": {"git": {"deny": ["git__push"]}}}"#])
        let chain = try #require(try? RouterChain.select(["mcph.namespace", "mcph.filter"], from: registry.routers, source: "test").get())
        let router = Router(chain: chain)
        let server = ServerConfig(name: "git", transport: "none", transportConfig: Array(#"{"command":"x"}"#.utf8), source: "test.json")
        let core = HostCore(config: HostConfig(servers: [server]), registry: PluginRegistry(), router: router, options: HostOptions(),
                            logger: Logger(label: "test"))
        let backend = try #require(core.backend(named: "git"))
        let listed = ["push", "pull", "status"].map { Array("{\"name\":\"\($0)\",\"inputSchema\":{}}".utf8) }
        core.catalog.store(.tool, backend: "git", items: backend.cachedItems(.tool, listed: listed, router: router), order: ["git"])
        #expect(core.catalog.lookup(.tool, exposed: "git__push") == nil)
        #expect(core.catalog.lookup(.tool, exposed: "git__pull")?.name == "pull")

        let filter = try #require(registry.routers.first { $0.plugin.info.id == "mcph.filter" })
        #expect(filter.plugin.reconfigure(Array(#"{"servers": {"git": {"deny": ["git__pull"]}}}"#.utf8)) == .applied)
        core.reexposeCatalog()
        #expect(core.catalog.lookup(.tool, exposed: "git__push")?.name == "push")
        #expect(core.catalog.lookup(.tool, exposed: "git__pull") == nil, "a listed name newly hidden no longer resolves")
        #expect(core.catalog.items(.tool, of: "git")?.exposed == ["git__push", "git__status"])

        core.catalog.invalidate(.tool, backend: "git")
        core.reexposeCatalog()
        #expect(core.catalog.items(.tool, of: "git") == nil, "a list marked for refetching stays marked")
        #expect(core.catalog.lastKnownItems(.tool, of: "git")?.exposed == ["git__push", "git__status"])
        await core.shutdown()
    }

    @Test func chainSelection() throws {
        let registry = try Self.registry(settings: [:])
        func ids(_ requested: [String]?) -> String {
            switch RouterChain.select(requested, from: registry.routers, source: "--router") {
            case .success(let chain): return chain.map(\.plugin.info.id).joined(separator: ",")
            case .failure(let error): return "error: " + error.description
            }
        }
        #expect(ids(nil) == "mcph.namespace")
        #expect(ids([]) == "mcph.namespace")
        #expect(ids(["mcph.filter", "mcph.namespace"]) == "mcph.filter,mcph.namespace", "order kept")
        #expect(ids(["mcph.namespace", "mcph.nope"]).contains("'mcph.nope' is not loaded"))
        #expect(ids(["mcph.namespace", "mcph.nope"]).contains("mcph.alias"), "names the loaded routers")
        #expect(ids(["mcph.alias", "mcph.alias"]).contains("listed twice"))
        switch RouterChain.select(nil, from: [], source: "x") {
        case .success(let chain): #expect(chain.isEmpty)
        case .failure(let error): Issue.record("\(error)")
        }
    }

    @Test func routersKeyOfTheServersFile() throws {
        let dir = NSTemporaryDirectory() + "mcph-routers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func load(_ json: String) -> Result<[String]?, ConfigError> {
            let file = dir + "/servers.json"
            FileManager.default.createFile(atPath: file, contents: Data(json.utf8))
            do {
                return .success(try ConfigLoader(environment: [:]).load(file: file, directory: nil).routers)
            } catch {
                return .failure(error)
            }
        }
        #expect(try load(#"{"mcpServers": {}, "routers": ["mcph.namespace", "mcph.filter"]}"#).get() == ["mcph.namespace", "mcph.filter"])
        #expect(try load(#"{"mcpServers": {}}"#).get() == nil)
        for bad in [#"[]"#, #""mcph.namespace""#, #"["a", 1]"#, #"["a", ""]"#, #"["a", "a"]"#] {
            guard case .failure(let error) = load(#"{"mcpServers": {}, "routers": "# + bad + "}") else {
                Issue.record("\(bad) was accepted")
                continue
            }
            #expect(error.key == "routers", "\(error)")
        }
    }

    @Test func tokenFileLines() throws {
        let tokens = try BearerTokenFile.parse("# comment\n\ntokA subject=alice roles=dev,admin\n  tokB\troles=ops   subject=bob\r\ntokC\n")
        #expect(tokens == [BearerToken("tokA", subject: "alice", roles: ["dev", "admin"]),
                           BearerToken("tokB", subject: "bob", roles: ["ops"]),
                           BearerToken("tokC")])
        #expect(!tokens[0].description.contains("tokA"), "a token's description never shows it")
        func failure(_ text: String) -> String {
            do {
                _ = try BearerTokenFile.parse(text)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(failure("tok1 sub=alice").hasPrefix("line 1: unexpected text"))
        #expect(!failure("tok1 s3cret-part").contains("s3cret"), "never quoted: it may be part of a token")
        #expect(failure("a\nb subject=") == "line 2: subject= needs a name of visible characters (e.g. subject=alice)")
        #expect(failure("a roles=x,,y").contains("roles="))
        #expect(failure("a subject=x subject=y").contains("given twice"))
        #expect(failure("a subject=x\na subject=y") == "line 2: the same token as on line 1; give each token once")
    }

    @Test func callerABICarriesSubjectRolesAndFrontEnd() {
        let caller = Caller(subject: "alice", roles: ["dev", "ops"], frontEnd: "http")
        let seen = caller.withABI { abi -> [String] in
            let p = abi.pointee
            func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
                String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
            }
            var out = [text(p.subject, p.subject_len), text(p.front_end, p.front_end_len)]
            for index in 0..<p.role_count { out.append(text(p.roles![index], p.role_lens![index])) }
            return out
        }
        #expect(seen == ["alice", "http", "dev", "ops"])
        let anonymous = Caller.anonymous("stdio").withABI { ($0.pointee.subject != nil, $0.pointee.subject_len, $0.pointee.roles == nil) }
        #expect(anonymous == (true, 0, true), "an empty subject still points at text; no roles: NULL")
        #expect(Caller.frontEnd(ofLabel: "socket-3") == "socket")
        #expect(Caller.frontEnd(ofLabel: "streamable:abcd") == "http")
        #expect(Caller.frontEnd(ofLabel: "cli") == "cli")
        #expect(Caller.frontEnd(ofLabel: "stdio") == "stdio")
    }
}
