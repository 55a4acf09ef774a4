#if canImport(Glibc)
import Glibc
#endif
import Locking
import Logging

/// The socket front-end: every connection to the host's Unix-domain socket is one client session
/// speaking newline-delimited JSON-RPC, served exactly like the stdio client (`StreamClient`).
/// This is how stdio-only clients share one host: each runs `mcp-host connect`, a byte bridge to
/// this socket. A client that disconnects ends only its own session (its requests are cancelled
/// on the backends); the others go on.
///
/// With an idle limit (`--exit-when-idle`) the host exits once it has had no client for that
/// long: it stops accepting and removes its socket (under the bridges' start lock, so a bridge
/// that has just connected is never dropped), then shuts every backend down.
public final class SocketFrontEnd: Sendable {
    /// `--exit-when-idle`: 1 s to 30 days (or `never`).
    public static let exitWhenIdleRange = SettingCheck.DurationRange(1, 30 * 86_400)
    /// How often the idle limit is checked.
    static let idleCheckInterval: Duration = .milliseconds(250)

    private let core: HostCore
    private let listener: SocketListener
    private let exitWhenIdle: Double?
    private let logger: Logger
    /// Resolved with the reason when the host must stop (signal, idle, another front-end ended).
    private let stopping = OneShot<String>()

    private struct Connected {
        let client: StreamClient
        let ended: OneShot<Void>
    }

    private struct Clients {
        var live: [UInt64: Connected] = [:]
        var nextID: UInt64 = 1
        var idle: IdleWatch?
    }

    private let clients: Locked<Clients>

    /// `exitWhenIdle`: seconds without any client before the host exits, nil for never.
    public init(core: HostCore, listener: SocketListener, exitWhenIdle: Double?, logger: Logger) {
        self.core = core
        self.listener = listener
        self.exitWhenIdle = exitWhenIdle
        self.logger = logger
        clients = Locked(Clients(idle: exitWhenIdle.map { IdleWatch(limit: $0, now: MonotonicClock.nanoseconds()) }))
    }

    /// Asks the host to stop: no new connections; clients' requests in flight get an error.
    public func stop(reason: String) { stopping.resolve(reason) }

    /// Waits until the host is asked to stop; returns why.
    public func stopRequested() async -> String { await stopping.value() }

    /// Number of connected clients.
    public var clientCount: Int { clients.withLock { $0.live.count } }

    /// Serves until `stop` (or the idle limit), then: stops accepting and removes the socket,
    /// runs `shutdownCore` (which must shut the core down: requests still in flight get an error
    /// response), and ends every client session. Returns why it stopped.
    @discardableResult
    public func run(shutdownCore: @Sendable () async -> Void) async -> String {
        let path = listener.path
        logger.info("serving MCP on a Unix socket", metadata: [
            "socket": "\(path.socket)", "pid": "\(getpid())",
            "exit_when_idle": "\(exitWhenIdle.map { DurationSyntax.format($0) } ?? "never")",
        ])
        listener.startAccepting(logger: logger) { [self] fd in accepted(fd) }
        let monitor = exitWhenIdle.map { limit in Task { await watchIdle(limit: limit) } }

        let reason = await stopping.value()
        logger.info("mcp-host exiting: \(reason)", metadata: ["socket": "\(path.socket)", "clients": "\(clientCount)"])
        monitor?.cancel()
        await listener.stopAccepting()
        listener.close()
        await shutdownCore()
        let remaining = clients.withLock { Array($0.live.values) }
        for connected in remaining { connected.client.stop(reason: "mcp-host is shutting down") }
        for connected in remaining { await connected.ended.value() }
        return reason
    }

    // MARK: - Connections

    /// A new connection (on the accept thread): checked, then served until it ends.
    private func accepted(_ fd: Int32) {
        let peer = UnixSocket.peer(of: fd)
        guard let peer, peer.uid == getuid() else {
            // The socket is 0600 in a private directory; only root gets here, and is refused too.
            logger.warning("refused a connection from another user", metadata: ["uid": "\(peer.map { "\($0.uid)" } ?? "?")"])
            close(fd)
            return
        }
        let output = UnixSocket.duplicate(fd)
        guard output >= 0 else {
            logger.error("cannot serve a client: \(String(cString: strerror(errno)))")
            close(fd)
            return
        }
        let now = MonotonicClock.nanoseconds()
        let ended = OneShot<Void>()
        let logger = self.logger
        let (id, client) = clients.withLock { clients -> (UInt64, StreamClient) in
            let id = clients.nextID
            clients.nextID &+= 1
            let client = StreamClient(core: core, label: "socket-\(id)", input: fd, output: output, stream: .socket, logger: logger)
            clients.live[id] = Connected(client: client, ended: ended)
            clients.idle?.activity(now: now)
            return (id, client)
        }
        logger.debug("client connected", metadata: ["session": "\(client.label)", "peer_pid": "\(peer.pid)"])
        Task { [clients] in
            let reason = await client.run()
            logger.debug("client left: \(reason)", metadata: ["session": "\(client.label)"])
            let now = MonotonicClock.nanoseconds()
            clients.withLock {
                $0.live[id] = nil
                $0.idle?.activity(now: now)
            }
            ended.resolve(())
        }
    }

    // MARK: - Exit when idle

    private func watchIdle(limit: Double) async {
        while !Task.isCancelled && !stopping.isResolved {
            try? await Task.sleep(for: Self.idleCheckInterval)
            let sessions = core.inFlightState().sessions // every front-end's clients (HTTP sessions too)
            let now = MonotonicClock.nanoseconds()
            let due = clients.withLock { clients in clients.idle?.due(clients: clients.live.count + sessions, now: now) ?? false }
            if due, await exitIfStillIdle(limit: limit) { return }
        }
    }

    /// Stops accepting and removes the socket unless a client is connecting right now; true when
    /// the host is exiting. Bridges hold the start lock (shared) while they connect, so holding it
    /// exclusively here means every bridge has either connected (its connection is pending or
    /// accepted, and seen below) or will find no socket and start a new host.
    private func exitIfStillIdle(limit: Double) async -> Bool {
        let lock = try? FileLock.open(listener.path.lockFile)
        defer { lock?.close() }
        if let lock, !lock.tryLock(exclusive: true) { return false } // a bridge is connecting or starting a host
        await listener.stopAccepting()
        let sessions = core.inFlightState().sessions
        if listener.hasPendingConnection() || clientCount + sessions > 0 {
            listener.startAccepting(logger: logger) { [self] fd in accepted(fd) }
            return false
        }
        listener.close() // from here a bridge finds no socket, and starts a new host
        stop(reason: "no client for \(DurationSyntax.format(limit))")
        return true
    }
}
