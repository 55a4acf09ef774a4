#if canImport(Glibc)
import Glibc
#endif
import CLIDiscovery
import Foundation
import HashSupport

/// Discovered tools on disk, so that the next start runs no help process.
///
/// One JSON file per server in `<state_dir>/mcph.cli/` (the subdirectory is named after the
/// plugin's id, as the ABI asks), named by the SHA-256 of the key. The key is the server's whole
/// configuration plus the identity (resolved path, size, mtime) of the executable and of every
/// `args` entry that is an existing file (an interpreter's script); only its SHA-256 is stored
/// (the configuration may hold secrets after `${VAR}` substitution). Written atomically (temp
/// file + rename). The directory and the file must belong to us and not be writable by group or
/// others, else the cache is not used (nor written); a file that cannot be read or decoded, or
/// whose tools look wrong, is a warning and a rebuild.
struct DiscoveryCache: Sendable {
    /// Bumped when the file format or the discovery rules change, so older entries are misses.
    static let formatVersion = 3 // 3: values attached in one word (--x=v, -Sv)
    /// A cache file larger than this is not read (treated as corrupt).
    static let maxFileBytes = 32 << 20
    /// The subdirectory of the state directory: the plugin's id.
    static let subdirectory = "mcph.cli"

    let directory: String
    /// SHA-256 (hex) of the key text.
    let key: String

    private struct Entry: Codable {
        var format: Int
        var key: String
        var tools: [ToolDefinition]
    }

    init(stateDirectory: String, config: CLIConfig, executableIdentity: String) {
        directory = stateDirectory + "/" + Self.subdirectory
        var parts = ["format=\(Self.formatVersion)", "config=\(config.canonicalText)", "exe=\(executableIdentity)"]
        for arg in config.args {
            let path = arg.hasPrefix("/") ? arg : (config.cwd ?? FileManager.default.currentDirectoryPath) + "/" + arg
            if let identity = ExecutableLocator.identity(of: path), HostFile.isRegular(path) { parts.append("file=\(identity)") }
        }
        key = SHA256.hex(parts.joined(separator: "\n"))
    }

    var path: String { directory + "/" + key + ".json" }

    enum LoadResult {
        case hit([ToolDefinition])
        case miss
        /// Unreadable, undecodable or implausible: rediscover and write it again.
        case corrupt(String)
        /// Not ours or writable by others (or no working hash): neither read nor written.
        case untrusted(String)
    }

    func load() -> LoadResult {
        guard SHA256.selfTestPassed else { return .untrusted("the SHA-256 self-test failed") }
        guard HostFile.exists(directory) else { return .miss }
        if let problem = HostFile.unsafeness(directory, directory: true) { return .untrusted(problem) }
        guard HostFile.exists(path) else { return .miss }
        if let problem = HostFile.unsafeness(path, directory: false) { return .untrusted(problem) }
        guard let data = HostFile.read(path, limit: Self.maxFileBytes) else { return .corrupt("cannot read \(path)") }
        guard let entry = try? JSONDecoder().decode(Entry.self, from: data) else { return .corrupt("\(path) is not a valid cache file") }
        guard entry.format == Self.formatVersion, entry.key == key else { return .miss }
        for tool in entry.tools {
            if let problem = Self.implausibility(of: tool) { return .corrupt("\(path): tool '\(tool.name)' \(problem)") }
        }
        return .hit(entry.tools)
    }

    /// Why a loaded tool cannot be one discovery made, or nil: discovery only makes tools whose
    /// path words are plain words, without fixed args, taking `args`, with sanitized names,
    /// flags spelled as options and a JSON object schema.
    static func implausibility(of tool: ToolDefinition) -> String? {
        guard (1...64).contains(tool.name.utf8.count), tool.name.utf8.allSatisfy(CLIConfig.isNameByte) else { return "has a name outside [A-Za-z0-9_.-]{1,64}" }
        for word in tool.path where word.isEmpty || word.hasPrefix("-") || word.utf8.count > 64 || word.contains(where: { $0.isWhitespace || $0.isNewline }) {
            return "has a subcommand word that is not a plain word: \(JSONText.quote(word))"
        }
        guard tool.fixedArgs.isEmpty else { return "has fixed args" }
        guard tool.acceptsArgs else { return "does not take args" }
        for (property, flag) in tool.flags {
            guard !property.isEmpty, property != "args", flag.spelling.hasPrefix("-"), flag.spelling != "-", flag.spelling != "--",
                  !flag.spelling.contains(where: { $0.isWhitespace }) else { return "has a flag that is not an option: \(JSONText.quote(flag.spelling))" }
        }
        guard let data = tool.inputSchema.data(using: .utf8),
              (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else { return "has a schema that is not a JSON object" }
        return nil
    }

    /// Writes the entry atomically; returns an error message or nil.
    func store(_ tools: [ToolDefinition]) -> String? {
        guard SHA256.selfTestPassed else { return "the SHA-256 self-test failed" }
        guard HostFile.makeDirectories(directory) else { return "cannot create \(directory): \(String(cString: strerror(errno)))" }
        if let problem = HostFile.unsafeness(directory, directory: true) { return problem }
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

    /// Why `path` cannot be trusted (not a directory / regular file as expected, a symbolic link,
    /// owned by another user, or writable by group or others), or nil.
    static func unsafeness(_ path: String, directory: Bool) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "cannot stat \(path): \(String(cString: strerror(errno)))" }
        let type = info.st_mode & S_IFMT
        if type != (directory ? S_IFDIR : S_IFREG) { return "\(path) is not a \(directory ? "directory" : "regular file")" }
        if info.st_uid != getuid() { return "\(path) belongs to uid \(info.st_uid), not to us (uid \(getuid()))" }
        if info.st_mode & 0o022 != 0 { return "\(path) is writable by group or others (mode \(String(info.st_mode & 0o7777, radix: 8)))" }
        return nil
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
