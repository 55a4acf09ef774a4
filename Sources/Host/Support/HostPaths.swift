#if canImport(Glibc)
import Glibc
#endif

/// Locations the host derives from where its executable lives.
public enum HostPaths {
    /// Directory of the running executable (`/proc/self/exe`), e.g. `.build/debug`.
    public static let executableDirectory: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return parent(of: path)
    }()

    /// The directory part of `path` ("." when there is none).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// `path` made absolute against `base` when it is relative.
    public static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : (base == "/" ? "/" + path : base + "/" + path)
    }

    /// The user's home directory.
    public static var home: String {
        if let home = getenv("HOME") { return String(cString: home) }
        return "/"
    }

    /// Default plugin directories when `--plugins` is not given: the installed plugin directory
    /// beside the binary (`<bin>/../lib/mcp-host/plugins`), then `~/.config/mcp-host/plugins.d`.
    public static var defaultPluginDirectories: [String] {
        [parent(of: executableDirectory) + "/lib/mcp-host/plugins", home + "/.config/mcp-host/plugins.d"]
    }

    /// The state directory handed to plugins (ABI 1.2 `state_dir`): `$MCP_HOST_STATE_DIR`, else
    /// `$XDG_STATE_HOME/mcp-host`, else `~/.local/state/mcp-host` (`--state-dir` overrides all).
    /// Not created here: a plugin that writes creates it with mode 0700.
    public static func stateDirectory(flag: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return resolve(flag, against: currentDirectory) }
        if let explicit = environment["MCP_HOST_STATE_DIR"], !explicit.isEmpty { return resolve(explicit, against: currentDirectory) }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/mcp-host" }
        return home + "/.local/state/mcp-host"
    }

    /// The directory of the user's shared host (its socket, pid file and start lock):
    /// `$XDG_RUNTIME_DIR/mcp-host` when that is an absolute path, else `/tmp/mcp-host-<uid>`.
    /// Not created here: `SocketPath.prepareDirectory` creates it 0700 and refuses one that
    /// another user owns or could write.
    public static func runtimeDirectory(environment: [String: String]) -> String {
        if let xdg = environment["XDG_RUNTIME_DIR"], xdg.hasPrefix("/") { return xdg + "/mcp-host" }
        return "/tmp/mcp-host-\(getuid())"
    }

    /// The shared host's socket when `--socket` gives no path: `<runtime directory>/host.sock`.
    public static func defaultSocketPath(environment: [String: String]) -> String {
        runtimeDirectory(environment: environment) + "/host.sock"
    }

    /// `path` made absolute against the working directory.
    public static func absolute(_ path: String) -> String { resolve(path, against: currentDirectory) }

    /// The working directory ("/" when unknown).
    static var currentDirectory: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(cBuffer: buffer)
    }

    public static func isFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Names of the entries of a directory, sorted bytewise (the drop-in order), or nil if unreadable.
    public static func listDirectory(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// The whole content of a file, or nil.
    public static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { out.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        return ferror(file) == 0 ? out : nil
    }
}
