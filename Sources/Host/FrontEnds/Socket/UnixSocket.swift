#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers of the Unix-domain socket calls the shared host and `mcp-host connect` need.
/// Every descriptor is created close-on-exec, so no backend (spawned from other threads at any
/// moment) ever inherits a client's connection and keeps it open after the host closed it.
public enum UnixSocket {
    /// A failed call: its errno and the text of it.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let code: Int32
        public init(_ code: Int32) { self.code = code }
        public var description: String { String(cString: strerror(code)) }
    }

    /// Longest socket path in bytes (`sun_path` holds 108 bytes with the terminating NUL).
    public static let maxPathBytes = 107

    /// Who is at the other end of a connection (`SO_PEERCRED`: for a client, the process that
    /// called `listen`; for the host, the process that called `connect`).
    public struct Peer: Sendable, Equatable {
        public let pid: pid_t
        public let uid: uid_t
    }

    /// A socket address for `path`, or nil when the path does not fit.
    static func address(_ path: String) -> sockaddr_un? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maxPathBytes, !bytes.contains(0) else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
            raw[bytes.count] = 0
        }
        return address
    }

    /// A new stream socket, close-on-exec (and non-blocking when asked), or -1 with errno set.
    static func makeSocket(nonBlocking: Bool = false) -> Int32 {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        return socket(AF_UNIX, type, 0)
    }

    /// Connects to the socket at `path`: the connected descriptor (blocking, close-on-exec), or
    /// the errno of the failure (ENOENT: no socket; ECONNREFUSED: a stale socket nobody accepts on).
    public static func connect(_ path: String) -> Result<Int32, Failure> {
        guard var address = address(path) else { return .failure(Failure(ENAMETOOLONG)) }
        let fd = makeSocket()
        guard fd >= 0 else { return .failure(Failure(errno)) }
        while true {
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if status == 0 { return .success(fd) }
            let error = errno
            if error == EINTR { continue }
            close(fd)
            return .failure(Failure(error))
        }
    }

    /// The credentials of the process at the other end of a connected socket.
    public static func peer(of fd: Int32) -> Peer? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (glibc hides it behind _GNU_SOURCE).
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
              Int(length) == MemoryLayout.size(ofValue: credentials) else { return nil }
        return Peer(pid: credentials.0, uid: credentials.1)
    }

    /// `accept4(fd, NULL, NULL, SOCK_CLOEXEC)`: Swift's Glibc module hides `accept4` (it needs
    /// _GNU_SOURCE), and a plain `accept` followed by `fcntl` would let a backend spawned in
    /// between inherit the connection. Found once in the C library already loaded.
    private static let accept4: (@convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "accept4") else { return nil } // RTLD_DEFAULT
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32).self)
    }()

    /// Accepts one connection, close-on-exec and blocking; -1 with errno set on failure.
    static func accept(_ listener: Int32) -> Int32 {
        if let accept4 { return accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue)) }
        // No accept4 (not glibc): accept, then close-on-exec at once (a narrow window remains).
        let fd = Glibc.accept(listener, nil, nil)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fd
    }

    /// A duplicate of `fd`, close-on-exec; -1 with errno set on failure.
    static func duplicate(_ fd: Int32) -> Int32 { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
}
