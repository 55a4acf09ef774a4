#if canImport(Glibc)
import Glibc
#endif

/// Finds the user's shared host for `mcp-host connect`, starting it in the background when none
/// runs.
///
/// Under the start lock (`SocketPath.lockFile`): shared while connecting to a running host, so a
/// host exiting when idle never drops a bridge that has just connected; exclusive while starting
/// one, so two bridges starting at once make one host (the second waits, then finds the socket
/// live). The host is `<this executable> serve --socket PATH --exit-when-idle ...`, in a new
/// session (setsid), stdin and stdout on /dev/null, stderr appended to `logFile`.
public struct SharedHostLauncher: Sendable {
    public let path: SocketPath
    /// Arguments after the executable: `serve --socket PATH ...`.
    public let hostArguments: [String]
    /// The shared host's stderr (appended; rotated once past `logLimit`).
    public let logFile: String
    /// How long a started host may take to accept connections.
    public var startTimeout: Double = 10
    /// How long to wait for another bridge that is starting the host (it holds the lock for at
    /// most its own `startTimeout`).
    public var lockTimeout: Double = 20
    /// Past this size the log is moved to `host.log.1` (replacing it) before a host starts.
    static let logLimit = 10 << 20

    public init(path: SocketPath, hostArguments: [String], logFile: String) {
        self.path = path
        self.hostArguments = hostArguments
        self.logFile = logFile
    }

    /// A connection to the shared host, started first if need be.
    public func connect() throws(SharedHostError) -> Int32 {
        try path.prepareDirectory()
        let lock = try FileLock.open(path.lockFile)
        defer { lock.close() }
        guard lock.lock(exclusive: false, timeout: lockTimeout) else { throw lockTimedOut() }
        if let fd = try attempt() { return fd }
        lock.unlock()
        guard lock.lock(exclusive: true, timeout: lockTimeout) else { throw lockTimedOut() }
        if let fd = try attempt() { return fd } // another bridge started it meanwhile

        let pid = try spawnHost()
        let deadline = MonotonicClock.deadline(after: startTimeout, from: MonotonicClock.nanoseconds())
        while true {
            if let fd = try attempt() { return fd }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let how = (status & 0x7f) == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
                throw SharedHostError("the shared host \(how) while starting; its log is \(logFile)\(logTail())")
            }
            if MonotonicClock.nanoseconds() >= deadline {
                kill(pid, SIGTERM) // it is not coming up: do not leave it behind
                throw SharedHostError("the shared host (pid \(pid)) did not accept connections on \(path.socket) within \(DurationSyntax.format(startTimeout)); it was stopped; its log is \(logFile)\(logTail())")
            }
            usleep(20_000)
        }
    }

    private func lockTimedOut() -> SharedHostError {
        SharedHostError("timed out after \(DurationSyntax.format(lockTimeout)) waiting for \(path.lockFile), held by another mcp-host connect starting the shared host")
    }

    /// Connects when a host accepts on the socket; nil when none does (no socket, or a stale one).
    private func attempt() throws(SharedHostError) -> Int32? {
        guard try path.existing() == .socket else { return nil }
        switch UnixSocket.connect(path.socket) {
        case .success(let fd):
            // The directory is private, so this is our own host; check anyway (cheap).
            if let peer = UnixSocket.peer(of: fd), peer.uid != getuid() {
                close(fd)
                throw SharedHostError("refusing \(path.socket): it is served by uid \(peer.uid), not by you (uid \(getuid()))")
            }
            return fd
        case .failure(let failure) where failure.code == ENOENT || failure.code == ECONNREFUSED:
            return nil
        case .failure(let failure):
            throw SharedHostError("cannot connect to \(path.socket): \(failure)")
        }
    }

    // MARK: - Starting the host

    private func spawnHost() throws(SharedHostError) -> pid_t {
        let executable = Self.executablePath()
        let log = try openLog()
        defer { close(log) }
        Self.closeOnExecEverything() // a client's descriptors must not live on in the host

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, log, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &allSignals) // the bridge ignores SIGPIPE; the host sets its own
        // POSIX_SPAWN_SETSID (glibc 2.26+; Swift's Glibc module hides it behind _GNU_SOURCE): the
        // host leaves the client's session and process group, so neither a terminal hang-up nor a
        // signal to the client's group reaches it.
        let setsid: Int32 = 0x80
        posix_spawnattr_setflags(&attributes, Int16(Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF) | setsid))

        let argv = ([executable] + hostArguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw SharedHostError("cannot start the shared host (\(executable)): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Opens the log for appending (creating its directory 0700), after rotating a large one.
    private func openLog() throws(SharedHostError) -> Int32 {
        let directory = HostPaths.parent(of: logFile)
        var info = stat()
        if stat(directory, &info) != 0 { Self.makeDirectories(directory) }
        if stat(logFile, &info) == 0, Int(info.st_size) > Self.logLimit {
            rename(logFile, logFile + ".1")
        }
        let fd = open(logFile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SharedHostError("cannot open the shared host's log \(logFile): \(String(cString: strerror(errno))); choose another --state-dir")
        }
        return fd
    }

    private static func makeDirectories(_ path: String) {
        let parent = HostPaths.parent(of: path)
        var info = stat()
        if parent != path, parent != "/", parent != ".", stat(parent, &info) != 0 { makeDirectories(parent) }
        mkdir(path, 0o700)
    }

    /// The last lines of the log, to show why a host did not come up.
    private func logTail() -> String {
        guard let bytes = HostPaths.readFile(logFile), !bytes.isEmpty else { return "" }
        let lines = String(decoding: bytes.suffix(4096), as: UTF8.self).split(separator: "\n").suffix(5)
        return ":\n" + lines.map { "  " + $0 }.joined(separator: "\n")
    }

    /// This executable (`/proc/self/exe`; a binary replaced since it started is started anew).
    static func executablePath() -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBytes { readlink("/proc/self/exe", $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
        guard n > 0 else { return CommandLine.arguments.first ?? "mcp-host" }
        let path = String(decoding: buffer[0..<n], as: UTF8.self)
        return path.hasSuffix(" (deleted)") ? String(path.dropLast(10)) : path
    }

    /// Marks every descriptor above stderr close-on-exec, so the spawned host keeps none of what
    /// the client handed its bridge (a pipe the client waits on would never see EOF).
    static func closeOnExecEverything() {
        guard let names = HostPaths.listDirectory("/proc/self/fd") else { return }
        for name in names {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
