#if canImport(Glibc)
import Glibc
#endif
import HashSupport
import LineIO
import Locking
import Logging

/// Each backend's lists on disk, so that a restarted host answers lists at once, without starting
/// any backend (docs/architecture.md, "Catalog cache").
///
/// Layout: one file per server in `<state dir>/catalog/`, named `<key>.json`, where the key is the
/// SHA-256 of everything that decides what the server lists (`key(for:transport:)`): a changed
/// server config misses its entry, the other servers still hit theirs. A file holds the format
/// version, the key, the server's name and, per kind, the item objects exactly as the backend
/// listed them (names, schemas and descriptions come back byte for byte; the router renames them
/// again on load). Never the config: after `${VAR}` substitution it may hold secrets, so no config
/// text, environment value or header is written, only its hash.
///
/// Trust: the directory and every file must belong to this user and be writable by nobody else
/// (and be no symbolic link), else the cache is neither read nor written and a warning says why.
/// The directory is created 0700, files 0600, written atomically (temporary file, fsync, rename).
/// A file that is unreadable, too large, not JSON (truncated), of another format version, for
/// another key or server, or with an item lacking its name is a warning naming the file, and a
/// miss: the server lists again when it runs, which rewrites the file.
///
/// Writes run on one dedicated thread, never on the task pool. At most one write per server
/// waits (a newer list replaces it), so the queue is bounded by the number of servers; an entry
/// equal to what the file already holds is not written again.
///
/// Entries of servers no longer configured (or configured differently) are left for another
/// configuration sharing the state directory; entries untouched for `pruneAfterSeconds` (an
/// entry is touched whenever it is loaded) are removed when the cache next writes.
public final class CatalogCache: Sendable {
    /// Bumped when the file format or the key's makeup changes: older files are misses.
    public static let formatVersion = 1
    /// A file larger than this is not read (treated as corrupt).
    static let maxFileBytes = 64 << 20
    /// The subdirectory of the state directory.
    public static let subdirectory = "catalog"
    /// Entries not loaded or written for this long are pruned (30 days).
    static let pruneAfterSeconds = 30 * 24 * 3600

    /// A server's cached lists: the item objects as the backend listed them, per kind it listed.
    public struct Entry: Sendable, Equatable {
        public var server: String
        public var lists: [ItemKind: [[UInt8]]]

        public init(server: String, lists: [ItemKind: [[UInt8]]]) {
            self.server = server
            self.lists = lists
        }
    }

    private struct Writer {
        /// Key -> the file's new content, in the order first queued.
        var pending: [String: [UInt8]] = [:]
        var order: [String] = []
        var running = false
        /// Key -> digest of what the file holds (loaded or written), to skip rewriting it.
        var current: [String: [UInt8]] = [:]
        var idle: [OneShot<Void>] = []
        var warned = false
        var pruned = false
    }

    /// `<state dir>/catalog`.
    public let directory: String
    /// Server name -> key (changed by a configuration reload).
    private let keyTable: Locked<[String: String]>
    var keys: [String: String] { keyTable.withLock { $0 } }
    let logger: Logger
    private let writer = Locked(Writer())

    private init(directory: String, keys: [String: String], logger: Logger) {
        self.directory = directory
        self.keyTable = Locked(keys)
        self.logger = logger
    }

    /// The cache in `<stateDirectory>/catalog` for servers with these keys (server name -> key),
    /// or nil (with a warning) when it cannot be used: the directory exists and is not ours or is
    /// writable by others, or SHA-256 fails its self-test. A missing directory is created on the
    /// first write.
    public static func open(stateDirectory: String, keys: [String: String], logger: Logger) -> CatalogCache? {
        guard SHA256.selfTestPassed else {
            logger.warning("catalog cache not used: the SHA-256 self-test failed")
            return nil
        }
        let directory = stateDirectory + "/" + subdirectory
        if StateFile.exists(directory), let problem = StateFile.unsafeness(directory, directory: true) {
            logger.warning("catalog cache not used (neither read nor written): \(problem)")
            return nil
        }
        return CatalogCache(directory: directory, keys: keys, logger: logger)
    }

    /// The key of a server: SHA-256 of the format version, its name, transport and transport
    /// config (the resolved entry), and the transport plugin's id, version, ABI and library file
    /// (size and modification time), since a new plugin build may list differently. Each part is
    /// length-prefixed, so no two different inputs share a key text.
    public static func key(for server: ServerConfig, transport: PluginInfo?) -> String {
        var material: [UInt8] = []
        func part(_ label: String, _ bytes: [UInt8]) {
            material += Array("\(label) \(bytes.count)\n".utf8)
            material += bytes
            material.append(0x0A)
        }
        part("cache", Array("mcp-host catalog \(formatVersion)".utf8))
        part("name", Array(server.name.utf8))
        part("transport", Array(server.transport.utf8))
        part("config", server.transportConfig)
        if let transport {
            part("plugin", Array("\(transport.id) \(transport.version) \(transport.abiMajor).\(transport.abiMinor)".utf8))
            var info = stat()
            let file = stat(transport.path, &info) == 0 ? "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)" : "?"
            part("library", Array("\(transport.path) \(file)".utf8))
        } else {
            part("plugin", [])
        }
        return SHA256.hex(bytes: material)
    }

    /// Sets (a server added or changed by a reload) or drops (nil: removed) a server's key.
    public func setKey(_ key: String?, for server: String) {
        keyTable.withLock { $0[server] = key }
    }

    /// The file of a server's entry (nil: the server is not configured here).
    public func path(of server: String) -> String? {
        keys[server].map { directory + "/" + $0 + ".json" }
    }

    // MARK: - Loading

    /// A server's entry, or nil: none, or unusable (a warning naming the file says why).
    public func load(server: String) -> Entry? {
        guard let key = keys[server], let path = path(of: server) else { return nil }
        // Unless it is a hit, the file holds nothing usable: the next save writes it.
        writer.withLock { $0.current[key] = nil }
        switch StateFile.read(path, limit: Self.maxFileBytes) {
        case .missing:
            return nil
        case .untrusted(let problem):
            logger.warning("catalog cache entry not used: \(problem)", metadata: ["backend": "\(server)"])
            return nil
        case .unreadable(let problem):
            logger.warning("catalog cache entry unusable (\(problem)); the server lists again when it runs", metadata: ["backend": "\(server)"])
            return nil
        case .bytes(let bytes):
            switch Self.decode(bytes, key: key, server: server) {
            case .failure(let problem):
                logger.warning("catalog cache entry \(path) unusable: \(problem.message); the server lists again when it runs, which rewrites it",
                               metadata: ["backend": "\(server)"])
                return nil
            case .success(let entry):
                writer.withLock { $0.current[key] = SHA256.digest(Self.encode(entry, key: key)) }
                StateFile.touch(path)
                return entry
            }
        }
    }

    // MARK: - Saving

    /// Writes a server's lists in the background (see the type's notes); nothing when the file
    /// already holds them.
    public func save(server: String, lists: [ItemKind: [[UInt8]]]) {
        guard let key = keys[server] else { return }
        let bytes = Self.encode(Entry(server: server, lists: lists), key: key)
        let digest = SHA256.digest(bytes)
        let start = writer.withLock { writer -> Bool in
            guard writer.current[key] != digest else { return false }
            writer.current[key] = digest
            if writer.pending[key] == nil { writer.order.append(key) }
            writer.pending[key] = bytes
            guard !writer.running else { return false }
            writer.running = true
            return true
        }
        if start { DedicatedThread.start(detached: true) { self.drain() } }
    }

    /// Waits (at most `timeout` seconds) until every queued write is done: before the host exits.
    public func flush(timeout: Double = 5) async {
        let waiter = writer.withLock { writer -> OneShot<Void>? in
            guard writer.running else { return nil }
            let waiter = OneShot<Void>()
            writer.idle.append(waiter)
            return waiter
        }
        if let waiter { await waiter.value(timeout: timeout, orElse: ()) }
    }

    /// The writer thread: writes queued entries until none is left.
    private func drain() {
        enum Next { case write(key: String, bytes: [UInt8], prune: Bool), done([OneShot<Void>]) }
        while true {
            let next = writer.withLock { writer -> Next in
                guard !writer.order.isEmpty else {
                    writer.running = false
                    defer { writer.idle = [] }
                    return .done(writer.idle)
                }
                let key = writer.order.removeFirst()
                let prune = !writer.pruned
                writer.pruned = true
                return .write(key: key, bytes: writer.pending.removeValue(forKey: key) ?? [], prune: prune)
            }
            switch next {
            case .done(let waiters):
                for waiter in waiters { waiter.resolve(()) }
                return
            case .write(let key, let bytes, let prune):
                if let problem = write(bytes, key: key, prune: prune) {
                    let first = writer.withLock { writer -> Bool in
                        writer.current[key] = nil // try again with the next list
                        defer { writer.warned = true }
                        return !writer.warned
                    }
                    if first {
                        logger.warning("catalog cache entry not written: \(problem)")
                    } else {
                        logger.debug("catalog cache entry not written: \(problem)")
                    }
                }
            }
        }
    }

    private func write(_ bytes: [UInt8], key: String, prune: Bool) -> String? {
        guard StateFile.makeDirectories(directory) else { return "cannot create \(directory): \(StateFile.errorText())" }
        if let problem = StateFile.unsafeness(directory, directory: true) { return problem }
        if prune { pruneOldEntries() }
        return StateFile.writeAtomically(bytes, to: directory + "/" + key + ".json")
    }

    /// Removes entries untouched for `pruneAfterSeconds`, and temporary files a crash left (older
    /// than an hour). Only names this cache writes are touched.
    private func pruneOldEntries() {
        let now = Int(time(nil))
        for (name, modified) in StateFile.files(in: directory) {
            let age = now > modified ? now - modified : 0
            let isEntry = name.utf8.count == 69 && name.hasSuffix(".json") && name.utf8.prefix(64).allSatisfy(Self.isHexDigit)
            let isTemporary = name.utf8.prefix(64).allSatisfy(Self.isHexDigit) && name.contains(".json.tmp.")
            if (isEntry && age > Self.pruneAfterSeconds) || (isTemporary && age > 3600) {
                if unlink(directory + "/" + name) == 0 { logger.debug("catalog cache: pruned \(name)") }
            }
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

/// What a backend needs to keep its part of the cache current on its own (after its start, on its
/// `list_changed`): the cache, and the router and server order its lists are stored with (the
/// host's own, as for every list).
struct CatalogRefresh: Sendable {
    let cache: CatalogCache
    let router: Router
    /// The host's current order of servers (it changes with a configuration reload).
    let order: @Sendable () -> [String]
}

// MARK: - File format

extension CatalogCache {
    /// Why a file is not a usable entry.
    struct Problem: Error, Equatable {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// `{"format":1,"key":"…","server":"…","tools":[…],"prompts":[…],…}`: the items spliced in as
    /// the backend wrote them; kinds the server never listed are absent.
    static func encode(_ entry: Entry, key: String) -> [UInt8] {
        var out = Array(#"{"format":\#(formatVersion),"key":"#.utf8) + JSONString.encode(key)
        out += Array(#","server":"#.utf8) + JSONString.encode(entry.server)
        for kind in ItemKind.allCases {
            guard let items = entry.lists[kind] else { continue }
            out += Array(",\"\(kind.resultKey)\":[".utf8)
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += item
            }
            out.append(UInt8(ascii: "]"))
        }
        out += Array("}\n".utf8)
        return out
    }

    /// The entry in `bytes` if it is one for `key` and `server`, every item an object with its
    /// string name member (`name`, `uri`, `uriTemplate`).
    static func decode(_ bytes: [UInt8], key: String, server: String) -> Result<Entry, Problem> {
        let scanner = JSONScanner(bytes)
        guard let document = try? scanner.documentRange() else { return .failure(Problem("not JSON (truncated or damaged)")) }
        guard bytes[document.lowerBound] == UInt8(ascii: "{") else { return .failure(Problem("not a JSON object")) }
        func member(_ name: String) -> Range<Int>? { (try? scanner.member(name, inObject: document))?.value }
        let format = member("format").map { String(decoding: scanner.slice($0), as: UTF8.self) } ?? "none"
        guard format == String(formatVersion) else {
            return .failure(Problem("format \(format.prefix(20)), this host reads format \(formatVersion)"))
        }
        guard member("key").flatMap(scanner.string(at:)) == key else {
            return .failure(Problem("it was written for another configuration (its key differs from its name)"))
        }
        guard let owner = member("server").flatMap(scanner.string(at:)), owner == server else {
            return .failure(Problem("it belongs to another server"))
        }
        var lists: [ItemKind: [[UInt8]]] = [:]
        for kind in ItemKind.allCases {
            guard let range = member(kind.resultKey) else { continue }
            guard let elements = try? scanner.elements(ofArray: range) else {
                return .failure(Problem("\"\(kind.resultKey)\" is not an array"))
            }
            var items: [[UInt8]] = []
            items.reserveCapacity(elements.count)
            for element in elements {
                guard bytes[element.lowerBound] == UInt8(ascii: "{"),
                      let name = try? scanner.member(kind.nameKey, inObject: element), scanner.isString(name.value) else {
                    return .failure(Problem("a \(kind.noun) in \"\(kind.resultKey)\" has no string \"\(kind.nameKey)\""))
                }
                items.append(Array(scanner.slice(element)))
            }
            lists[kind] = items
        }
        return .success(Entry(server: server, lists: lists))
    }
}
