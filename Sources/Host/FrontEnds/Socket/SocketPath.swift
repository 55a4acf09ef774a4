#if canImport(Glibc)
import Glibc
#endif

/// Why the shared host's socket cannot be used: a directory another user controls, a live host,
/// a path that is not a socket. The message says what was found and what to do.
public struct SharedHostError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Where a shared host lives: its socket, the pid file beside it, and the start lock that
/// `mcp-host connect` bridges take in the same directory.
///
/// The directory is the security boundary: whoever can write it can put their own socket there
/// and read every message of every client. So it must be owned by this user and writable by
/// nobody else, and is created 0700 when missing.
public struct SocketPath: Sendable, Equatable {
    /// The socket, absolute.
    public let socket: String

    public init(_ socket: String) { self.socket = socket }

    /// The directory holding the socket.
    public var directory: String { HostPaths.parent(of: socket) }

    /// `<dir>/<name>.pid` for `<dir>/<name>.sock` (else `<socket>.pid`): the host's pid, and the
    /// lock that makes it the only host on this socket while it runs.
    public var pidFile: String {
        socket.hasSuffix(".sock") ? String(socket.dropLast(5)) + ".pid" : socket + ".pid"
    }

    /// `<dir>/host.lock`: bridges hold it shared while they connect and exclusively while they
    /// start a host; a host takes it exclusively (never waiting) to exit when idle, so it never
    /// exits under a bridge that has just connected.
    public var lockFile: String { directory + "/host.lock" }

    /// Parses `--socket` text: made absolute, and short enough for a socket address.
    public static func parse(_ text: String, setting: String) throws(SettingError) -> SocketPath {
        guard !text.isEmpty else { throw SettingError(setting: setting, message: "is empty; give the path of the socket") }
        let path = HostPaths.absolute(text)
        let length = path.utf8.count
        guard length <= UnixSocket.maxPathBytes else {
            throw SettingError(setting: setting, message: "'\(path)' is \(length) bytes; a Unix socket path can have at most \(UnixSocket.maxPathBytes); choose a shorter path")
        }
        guard !path.hasSuffix("/") else { throw SettingError(setting: setting, message: "'\(path)' is a directory; give the path of the socket inside it") }
        return SocketPath(path)
    }

    // MARK: - The directory

    /// Creates the directory when missing (0700, missing parents too) and checks it; throws a
    /// refusal when another user owns it or could write it.
    public func prepareDirectory() throws(SharedHostError) {
        var info = stat()
        if lstat(directory, &info) != 0 {
            guard errno == ENOENT else { throw SharedHostError("cannot use \(directory): \(String(cString: strerror(errno)))") }
            try Self.makeDirectories(directory)
        }
        try checkDirectory()
    }

    /// Checks an existing directory; throws when it is missing or unsafe.
    public func checkDirectory() throws(SharedHostError) {
        var link = stat()
        guard lstat(directory, &link) == 0 else {
            throw SharedHostError("cannot use \(directory): \(String(cString: strerror(errno)))")
        }
        if (link.st_mode & S_IFMT) == S_IFLNK, link.st_uid != getuid(), link.st_uid != 0 {
            throw SharedHostError("refusing to use \(directory) for the shared host's socket: it is a symbolic link owned by uid \(link.st_uid), not by you (uid \(getuid())); remove it or choose another --socket")
        }
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw SharedHostError("cannot use \(directory): \(String(cString: strerror(errno)))")
        }
        if let refusal = Self.refusal(directory: directory, isDirectory: (info.st_mode & S_IFMT) == S_IFDIR,
                                      owner: info.st_uid, mode: info.st_mode & 0o7777, user: getuid()) {
            throw SharedHostError(refusal)
        }
    }

    /// Why a directory must not hold the shared host's socket, or nil when it may. Pure.
    static func refusal(directory: String, isDirectory: Bool, owner: uid_t, mode: mode_t, user: uid_t) -> String? {
        if !isDirectory { return "cannot use \(directory) for the shared host's socket: it is not a directory" }
        if owner != user {
            return "refusing to use \(directory) for the shared host's socket: it is owned by uid \(owner), not by you (uid \(user)), so its owner could read every message; remove it or choose another --socket"
        }
        if mode & 0o022 != 0 {
            let who = mode & 0o002 != 0 ? "everyone" : "its group"
            return "refusing to use \(directory) for the shared host's socket: \(who) can write it (mode \(String(mode, radix: 8))), so another user could replace the socket; run chmod 700 \(directory) or choose another --socket"
        }
        return nil
    }

    private static func makeDirectories(_ path: String) throws(SharedHostError) {
        let parent = HostPaths.parent(of: path)
        var info = stat()
        if parent != path, parent != "/", parent != ".", stat(parent, &info) != 0 {
            try makeDirectories(parent)
        }
        if mkdir(path, 0o700) != 0 {
            guard errno == EEXIST else { throw SharedHostError("cannot create \(path): \(String(cString: strerror(errno)))") }
            return // created meanwhile (by another bridge, or someone else): checked by the caller
        }
        chmod(path, 0o700) // whatever the umask
    }

    // MARK: - The socket file

    /// What is at the socket path now.
    public enum Existing: Equatable {
        case nothing
        case socket
    }

    /// Checks what is at the socket path: nothing, or a socket of this user; throws for anything
    /// else (a regular file is not ours to delete; another user's socket is not to be trusted).
    public func existing() throws(SharedHostError) -> Existing {
        var info = stat()
        guard lstat(socket, &info) == 0 else {
            if errno == ENOENT { return .nothing }
            throw SharedHostError("cannot use \(socket): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw SharedHostError("\(socket) exists and is not a socket; remove it or choose another --socket")
        }
        guard info.st_uid == getuid() else {
            throw SharedHostError("refusing \(socket): it belongs to uid \(info.st_uid), not to you (uid \(getuid())); remove it or choose another --socket")
        }
        return .socket
    }

    /// The pid written in the pid file, if any.
    public func recordedPID() -> pid_t? {
        guard let bytes = HostPaths.readFile(pidFile) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        return pid_t(text)
    }
}
