#if canImport(Glibc)
import Glibc
#endif
import CLIDiscovery
import Foundation

/// Discovered tools on disk, so that the next start runs no help process.
///
/// One JSON file per server in `<state_dir>/cli/`, named by a hash of the key; the file repeats the
/// full key, so a hash collision is a miss, never wrong tools. The key is the server's whole
/// configuration plus the identity (resolved path, size, mtime) of the executable and of every
/// `args` entry that is an existing file (an interpreter's script). Written atomically (temp file
/// + rename); a file that cannot be read or decoded is a warning and a rebuild.
struct DiscoveryCache: Sendable {
    /// Bumped when the file format or the discovery rules change, so older entries are misses.
    static let formatVersion = 1
    /// A cache file larger than this is not read (treated as corrupt).
    static let maxFileBytes = 32 << 20

    let directory: String
    let key: String

    private struct Entry: Codable {
        var format: Int
        var key: String
        var tools: [ToolDefinition]
    }

    init(stateDirectory: String, config: CLIConfig, executableIdentity: String) {
        directory = stateDirectory + "/cli"
        var parts = ["format=\(Self.formatVersion)", "config=\(config.canonicalText)", "exe=\(executableIdentity)"]
        for arg in config.args {
            let path = arg.hasPrefix("/") ? arg : (config.cwd ?? FileManager.default.currentDirectoryPath) + "/" + arg
            if let identity = ExecutableLocator.identity(of: path), HostFile.isRegular(path) { parts.append("file=\(identity)") }
        }
        key = parts.joined(separator: "\n")
    }

    var path: String { directory + "/" + Self.fnv1a64(key) + ".json" }

    enum LoadResult {
        case hit([ToolDefinition])
        case miss
        case corrupt(String)
    }

    func load() -> LoadResult {
        guard let data = HostFile.read(path, limit: Self.maxFileBytes) else { return HostFile.exists(path) ? .corrupt("cannot read \(path)") : .miss }
        guard let entry = try? JSONDecoder().decode(Entry.self, from: data) else { return .corrupt("\(path) is not a valid cache file") }
        guard entry.format == Self.formatVersion, entry.key == key else { return .miss }
        return .hit(entry.tools)
    }

    /// Writes the entry atomically; returns an error message or nil.
    func store(_ tools: [ToolDefinition]) -> String? {
        guard HostFile.makeDirectories(directory) else { return "cannot create \(directory): \(String(cString: strerror(errno)))" }
        guard let data = try? JSONEncoder().encode(Entry(format: Self.formatVersion, key: key, tools: tools)) else { return "cannot encode the tools" }
        let temporary = path + ".tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "cannot create \(temporary): \(String(cString: strerror(errno)))" }
        let written = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard written, synced, rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            return "cannot write \(path): \(why)"
        }
        return nil
    }

    static func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Small file helpers (POSIX; bounded reads).
enum HostFile {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isRegular(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The file's bytes, or nil if unreadable or larger than `limit`.
    static func read(_ path: String, limit: Int) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { return nil }
        }
    }

    /// `mkdir -p` with mode 0700 for every directory it creates.
    static func makeDirectories(_ path: String) -> Bool {
        var info = stat()
        if stat(path, &info) == 0 { return (info.st_mode & S_IFMT) == S_IFDIR }
        let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        if !parent.isEmpty && parent != path && !makeDirectories(parent) { return false }
        return mkdir(path, 0o700) == 0 || errno == EEXIST
    }
}
