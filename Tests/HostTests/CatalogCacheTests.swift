import Foundation
import Locking
import Logging
import Testing
@testable import Host

/// The catalog cache without processes: the file round trip, its key, damaged and foreign files,
/// permissions, secrets, and a host that answers lists from it.
@Suite(.serialized)
struct CatalogCacheTests {
    /// Collects log messages (the cache reports problems as warnings).
    final class Capture: LogHandler, @unchecked Sendable {
        // @unchecked: `lines` is a Locked; the handler's own settings are only set before use.
        let lines = Locked<[String]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            lines.withLock { $0.append("\(level): \(message)") }
        }
        var warnings: [String] { lines.withLock { $0.filter { $0.hasPrefix("warning") } } }
    }

    let capture = Capture()
    var logger: Logger { Logger(label: "test") { _ in capture } }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "mcph-cache-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func server(_ name: String, config: String = #"{"command":"x"}"#) -> ServerConfig {
        ServerConfig(name: name, transport: "stdio", transportConfig: Array(config.utf8), source: "test.json")
    }

    static let plugin = PluginInfo(id: "mcph.stdio", name: "stdio", version: "1.0", description: "", abiMajor: 1, abiMinor: 3,
                                   kinds: 1, path: "/nonexistent/libmcph-stdio.so")

    static let lists: [ItemKind: [[UInt8]]] = [
        .tool: [Array(#"{"name":"echo","description":"Echoes.\nTwo lines \u00e9","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}},"x-vendor":{ "kept" : 1 }}"#.utf8),
                Array(#"{"name":"pid","inputSchema":{"type":"object"}}"#.utf8)],
        .resourceTemplate: [Array(#"{"uriTemplate":"fake://a/items/{id}","name":"item"}"#.utf8)],
        .prompt: [],
    ]

    /// A cache for servers "a" (and "b") in a new state directory, with one entry for "a" written.
    func cacheWithEntry() async throws -> (cache: CatalogCache, state: String, path: String) {
        let state = try Self.temporaryDirectory()
        let keys = ["a": CatalogCache.key(for: Self.server("a"), transport: Self.plugin),
                    "b": CatalogCache.key(for: Self.server("b"), transport: Self.plugin)]
        let cache = try #require(CatalogCache.open(stateDirectory: state, keys: keys, logger: logger))
        cache.save(server: "a", lists: Self.lists)
        await cache.flush()
        return (cache, state, try #require(cache.path(of: "a")))
    }

    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func roundTripKeepsTheItemsByteForByte() async throws {
        let (cache, state, path) = try await cacheWithEntry()
        let entry = try #require(cache.load(server: "a"))
        #expect(entry == CatalogCache.Entry(server: "a", lists: Self.lists))
        #expect(cache.load(server: "b") == nil, "no entry for b")
        #expect(path.hasPrefix(state + "/catalog/"))
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        #expect(name.count == 64 && name.allSatisfy(\.isHexDigit))
        #expect(capture.warnings.isEmpty, "\(capture.warnings)")
        // A second host (a new cache object) reads the same file.
        let again = try #require(CatalogCache.open(stateDirectory: state, keys: ["a": CatalogCache.key(for: Self.server("a"), transport: Self.plugin)], logger: logger))
        #expect(again.load(server: "a")?.lists[.tool] == Self.lists[.tool])
    }

    @Test func anUnchangedEntryIsNotWrittenAgain() async throws {
        let (cache, _, path) = try await cacheWithEntry()
        _ = cache.load(server: "a")
        #expect(utimes(path, [timeval(tv_sec: 1000, tv_usec: 0), timeval(tv_sec: 1000, tv_usec: 0)]) == 0)
        cache.save(server: "a", lists: Self.lists)
        await cache.flush()
        let modified = try #require(FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        #expect(modified.timeIntervalSince1970 < 2000, "rewritten although unchanged")
        var changed = Self.lists
        changed[.tool]?.removeLast()
        cache.save(server: "a", lists: changed)
        await cache.flush()
        #expect(cache.load(server: "a")?.lists[.tool]?.count == 1)
    }

    @Test func theKeyChangesWithWhatDecidesTheList() {
        let base = CatalogCache.key(for: Self.server("a"), transport: Self.plugin)
        #expect(base == CatalogCache.key(for: Self.server("a"), transport: Self.plugin), "stable")
        #expect(base != CatalogCache.key(for: Self.server("b"), transport: Self.plugin), "name")
        #expect(base != CatalogCache.key(for: Self.server("a", config: #"{"command":"y"}"#), transport: Self.plugin), "config")
        let http = ServerConfig(name: "a", transport: "http", transportConfig: Array(#"{"command":"x"}"#.utf8), source: "test.json")
        #expect(base != CatalogCache.key(for: http, transport: Self.plugin), "transport")
        let newer = PluginInfo(id: "mcph.stdio", name: "stdio", version: "1.1", description: "", abiMajor: 1, abiMinor: 3, kinds: 1, path: Self.plugin.path)
        #expect(base != CatalogCache.key(for: Self.server("a"), transport: newer), "plugin version")
        #expect(base != CatalogCache.key(for: Self.server("a"), transport: nil), "no transport plugin")
        // Length-prefixed parts: moving bytes between name and config changes the key.
        let shifted = ServerConfig(name: "a\ntransport 5\nstdio", transport: "", transportConfig: [], source: "")
        #expect(CatalogCache.key(for: shifted, transport: nil) != CatalogCache.key(for: ServerConfig(name: "a", transport: "stdio", transportConfig: [], source: ""), transport: nil))
    }

    @Test func damagedFilesAreIgnoredWithAWarningNamingTheFile() async throws {
        let (cache, _, path) = try await cacheWithEntry()
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let damaged: [(String, Data)] = [
            ("truncated", good.prefix(good.count / 2)),
            ("empty", Data()),
            ("not JSON", Data([0xff, 0xfe, 0x00, 0x7b])),
            ("an array", Data("[1,2]".utf8)),
            ("another format", Data(String(decoding: good, as: UTF8.self).replacingOccurrences(of: #""format":1"#, with: #""format":99"#).utf8)),
            ("an item without its name", Data(String(decoding: good, as: UTF8.self).replacingOccurrences(of: #"{"name":"pid""#, with: #"{"nome":"pid""#).utf8)),
            ("not an array", Data(String(decoding: good, as: UTF8.self).replacingOccurrences(of: #""prompts":[]"#, with: #""prompts":{}"#).utf8)),
        ]
        for (what, bytes) in damaged {
            try bytes.write(to: URL(fileURLWithPath: path))
            let before = capture.warnings.count
            #expect(cache.load(server: "a") == nil, "\(what) was used")
            let warning = capture.warnings.dropFirst(before).first ?? ""
            #expect(warning.contains(path), "\(what): \(warning)")
        }
        // Rebuilt by the next save.
        cache.save(server: "a", lists: Self.lists)
        await cache.flush()
        #expect(cache.load(server: "a")?.lists == Self.lists)
    }

    @Test func anotherServersOrAnotherConfigsFileIsIgnored() async throws {
        let (cache, _, path) = try await cacheWithEntry()
        let pathB = try #require(cache.path(of: "b"))
        // b's name, a's content: the key inside differs from the name.
        try FileManager.default.copyItem(atPath: path, toPath: pathB)
        #expect(cache.load(server: "b") == nil)
        #expect(capture.warnings.last?.contains(pathB) == true, "\(capture.warnings)")
        #expect(capture.warnings.last?.contains("another configuration") == true, "\(capture.warnings)")
    }

    @Test func filesAre0600InA0700DirectoryAndUntrustedOnesAreRefused() async throws {
        let (cache, state, path) = try await cacheWithEntry()
        #expect(try mode(state + "/catalog") == 0o700)
        #expect(try mode(path) == 0o600)

        // A group-writable file is not read.
        #expect(chmod(path, 0o620) == 0)
        #expect(cache.load(server: "a") == nil)
        #expect(capture.warnings.last?.contains("writable by group or others") == true, "\(capture.warnings)")
        #expect(chmod(path, 0o600) == 0)

        // A symbolic link is not followed.
        let target = state + "/elsewhere.json"
        try FileManager.default.moveItem(atPath: path, toPath: target)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        #expect(cache.load(server: "a") == nil)
        #expect(capture.warnings.last?.contains("symbolic link") == true, "\(capture.warnings)")

        // A group-writable directory is refused: neither read nor written.
        #expect(chmod(state + "/catalog", 0o770) == 0)
        #expect(CatalogCache.open(stateDirectory: state, keys: ["a": "x"], logger: logger) == nil)
        #expect(capture.warnings.last?.contains("writable by group or others") == true, "\(capture.warnings)")
        // The cache already open does not write there either.
        try FileManager.default.removeItem(atPath: path)
        cache.save(server: "a", lists: [.tool: []])
        await cache.flush()
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(capture.warnings.last?.contains("not written") == true, "\(capture.warnings)")
    }

    @Test func noSecretOfTheConfigReachesTheFile() async throws {
        let state = try Self.temporaryDirectory()
        let secret = #"{"command":"srv","env":{"API_TOKEN":"s3cret-value"},"headers":{"Authorization":"Bearer hdr-secret"}}"#
        let server = Self.server("a", config: secret)
        let cache = try #require(CatalogCache.open(stateDirectory: state, keys: ["a": CatalogCache.key(for: server, transport: Self.plugin)], logger: logger))
        cache.save(server: "a", lists: Self.lists)
        await cache.flush()
        let files = try FileManager.default.contentsOfDirectory(atPath: state + "/catalog")
        #expect(files.count == 1, "\(files)")
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: state + "/catalog/" + files[0])), as: UTF8.self)
        for word in ["s3cret-value", "hdr-secret", "API_TOKEN", "Authorization", "srv", "command"] {
            #expect(!text.contains(word), "the file holds '\(word)'")
        }
    }

    /// A host with a cache answers from it: items renamed as a fetch renames them, counted by
    /// /health, and a name resolves to its backend, with no process (the transport is absent).
    @Test func aHostLoadsTheCatalogFromTheCache() async throws {
        let state = try Self.temporaryDirectory()
        let servers = [Self.server("a"), Self.server("b")]
        let registry = PluginRegistry() // no transport: nothing can start
        let keys = Dictionary(uniqueKeysWithValues: servers.map { ($0.name, CatalogCache.key(for: $0, transport: nil)) })
        let cache = try #require(CatalogCache.open(stateDirectory: state, keys: keys, logger: logger))
        cache.save(server: "a", lists: Self.lists)
        await cache.flush()
        let core = HostCore(config: HostConfig(servers: servers), registry: registry, router: Router(plugin: nil),
                            options: HostOptions(), logger: logger, stateDirectory: state)
        #expect(core.catalog.count(.tool) == 2)
        #expect(core.catalog.isCached(.tool, of: "a"))
        #expect(core.catalog.lookup(.tool, exposed: "a__echo")?.name == "echo")
        let items = try #require(core.catalog.items(.tool, of: "a"))
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(items.elements[0])) as? [String: Any])
        #expect(echo["name"] as? String == "a__echo")
        #expect(echo["description"] as? String == "[a] Echoes.\nTwo lines é")
        #expect((echo["x-vendor"] as? [String: Any])?["kept"] as? Int == 1)
        #expect(core.catalog.items(.tool, of: "b") == nil, "b has no entry")
        #expect(core.catalog.items(.resource, of: "a") == nil, "a never listed resources")
        #expect(core.catalog.resourceOwner(uri: "fake://a/items/7") == "a")
        await core.shutdown()
    }

    /// Without a state directory there is no cache: nothing is read or written.
    @Test func aHostWithoutAStateDirectoryHasNoCache() {
        let core = HostCore(config: HostConfig(servers: [Self.server("a")]), registry: PluginRegistry(), router: Router(plugin: nil),
                            options: HostOptions(), logger: logger)
        #expect(core.catalogCache == nil)
        #expect(core.catalog.count(.tool) == 0)
    }
}
