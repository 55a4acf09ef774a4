#if canImport(Glibc)
import Glibc
#endif
import LineIO
import Locking
import Logging

/// The shared host's listening socket.
///
/// - `init(claiming:)` checks the directory, takes the pid file's lock (one host per socket, held
///   until `close` or the process's death), refuses a live socket and removes a stale one (a
///   socket file nobody accepts on, left by a host that was killed);
/// - `listen()` binds it with mode 0600 and writes the pid;
/// - `startAccepting` runs the accept loop on a dedicated thread until `stopAccepting`;
/// - `close()` removes the socket file (only if it is still the one bound here) and releases the
///   lock.
public final class SocketListener: Sendable {
    public let path: SocketPath
    private let pidLock: FileLock

    private struct State {
        var fd: Int32 = -1
        /// Identity of the socket file bound here, so `close` never removes a successor's.
        var device: UInt64 = 0
        var inode: UInt64 = 0
        /// The running accept loop: its wake-up socket (write end) and its end.
        var wake: Int32 = -1
        var loopEnded: OneShot<Void>?
        var closed = false
    }

    private let state = Locked(State())

    public init(claiming path: SocketPath, logger: Logger) throws(SharedHostError) {
        try path.prepareDirectory()
        let lock = try FileLock.open(path.pidFile)
        guard lock.tryLock(exclusive: true) else {
            let pid = path.recordedPID()
            lock.close()
            throw SharedHostError("another mcp-host\(pid.map { " (pid \($0))" } ?? "") already serves \(path.socket); use it with `mcp-host connect --socket \(path.socket)`, or stop it first")
        }
        do throws(SharedHostError) {
            if try path.existing() == .socket {
                switch UnixSocket.connect(path.socket) {
                case .success(let fd):
                    Glibc.close(fd)
                    throw SharedHostError("another process already accepts connections on \(path.socket); stop it or choose another --socket")
                case .failure(let failure) where failure.code == ECONNREFUSED:
                    guard unlink(path.socket) == 0 || errno == ENOENT else {
                        throw SharedHostError("cannot remove the stale socket \(path.socket): \(String(cString: strerror(errno)))")
                    }
                    logger.info("replaced a stale socket (no host accepted connections on it)", metadata: ["socket": "\(path.socket)"])
                case .failure(let failure):
                    throw SharedHostError("cannot check the existing socket \(path.socket): \(failure)")
                }
            }
        } catch {
            lock.close()
            throw error
        }
        self.path = path
        self.pidLock = lock
    }

    /// Binds the socket (mode 0600, non-blocking) and listens; writes this process's pid.
    public func listen() throws(SharedHostError) {
        guard var address = UnixSocket.address(path.socket) else { throw SharedHostError("\(path.socket): the path is too long for a socket") }
        let fd = UnixSocket.makeSocket(nonBlocking: true)
        guard fd >= 0 else { throw SharedHostError("cannot create a socket: \(String(cString: strerror(errno)))") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            throw SharedHostError("cannot bind \(path.socket): \(why)")
        }
        // Before listen: nobody can connect yet, so nobody connects while the mode is wider.
        var info = stat()
        guard chmod(path.socket, 0o600) == 0, stat(path.socket, &info) == 0, Glibc.listen(fd, SOMAXCONN) == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            unlink(path.socket)
            throw SharedHostError("cannot listen on \(path.socket): \(why)")
        }
        state.withLock {
            $0.fd = fd
            $0.device = UInt64(info.st_dev)
            $0.inode = UInt64(info.st_ino)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(pidLock.fd, 0)
        _ = pid.withUnsafeBytes { pwrite(pidLock.fd, $0.baseAddress, $0.count, 0) }
    }

    /// Runs the accept loop on a dedicated thread: each accepted connection (blocking,
    /// close-on-exec) goes to `accepted`, on that thread. A failing accept (out of descriptors)
    /// is logged and retried after 100 ms rather than spinning.
    func startAccepting(logger: Logger, _ accepted: @escaping @Sendable (Int32) -> Void) {
        var pair: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &pair) == 0 else {
            logger.critical("cannot create the accept loop's wake-up socket: \(String(cString: strerror(errno))); no client can connect")
            return
        }
        let ended = OneShot<Void>()
        let listener = state.withLock { state -> Int32 in
            state.wake = pair[1]
            state.loopEnded = ended
            return state.fd
        }
        let wakeRead = pair[0]
        DedicatedThread.start(detached: true) {
            defer {
                Glibc.close(wakeRead)
                ended.resolve(())
            }
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            while true {
                fds[0].revents = 0
                fds[1].revents = 0
                let ready = poll(&fds, 2, -1)
                if ready < 0 {
                    if errno == EINTR { continue }
                    logger.critical("the accept loop failed: \(String(cString: strerror(errno))); no new client can connect")
                    return
                }
                if fds[1].revents != 0 { return } // stopAccepting
                guard fds[0].revents != 0 else { continue }
                let fd = UnixSocket.accept(listener)
                if fd >= 0 {
                    accepted(fd)
                    continue
                }
                switch errno {
                case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO:
                    continue
                default:
                    logger.error("cannot accept a client: \(String(cString: strerror(errno))); retrying in 100 ms")
                    usleep(100_000)
                }
            }
        }
    }

    /// Ends the accept loop and waits until it has ended (no connection is accepted after this).
    func stopAccepting() async {
        let (wake, ended) = state.withLock { state -> (Int32, OneShot<Void>?) in
            defer {
                state.wake = -1
                state.loopEnded = nil
            }
            return (state.wake, state.loopEnded)
        }
        guard wake >= 0 else { return }
        Glibc.close(wake) // the loop sees its wake-up socket's peer close
        await ended?.value()
    }

    /// Whether a client has connected and waits to be accepted.
    func hasPendingConnection() -> Bool {
        let fd = state.withLock { $0.fd }
        guard fd >= 0 else { return false }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1 && entry.revents & Int16(POLLIN) != 0
    }

    /// Stops listening (call after `stopAccepting`): closes the socket, removes its file if it is
    /// still the one bound here, empties the pid file and releases its lock. Idempotent.
    public func close() {
        let (fd, device, inode, first) = state.withLock { state -> (Int32, UInt64, UInt64, Bool) in
            defer { state.closed = true; state.fd = -1 }
            return (state.fd, state.device, state.inode, !state.closed)
        }
        guard first else { return }
        if fd >= 0 {
            var info = stat()
            if lstat(path.socket, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode {
                unlink(path.socket)
            }
            Glibc.close(fd)
            _ = ftruncate(pidLock.fd, 0)
        }
        pidLock.close()
    }
}
