import Locking
import Logging
import Metrics
import Synchronization

/// The HTTP sessions: creation with secure random ids, lookup, end, idle expiry and eviction of
/// sessions whose client stopped reading.
final class SessionStore: Sendable {
    private let sessions = Locked<[String: HTTPSession]>([:])
    private let core: HostCore
    private let options: HTTPOptions
    private let logger: Logger
    private let evictions = Counter(label: "mcp_host_session_evictions_total")

    init(core: HostCore, options: HTTPOptions, logger: Logger) {
        self.core = core
        self.options = options
        self.logger = logger
    }

    /// A new session id: 128 random bits from the system CSPRNG (getrandom), hex, prefixed with
    /// the replica id when one is set (so a load balancer can route on it).
    func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<2).map { _ in
            let value = generator.next() as UInt64
            let text = String(value, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
        return options.replicaID.map { "\($0)-\(hex)" } ?? hex
    }

    /// A new session, or nil when `maxSessions` are open.
    func create(kind: HTTPSession.Kind, caller: Caller = .anonymous("http")) -> HTTPSession? {
        guard count < options.maxSessions else {
            logger.warning("refusing a new \(kind.rawValue) session: \(options.maxSessions) sessions are open (--max-sessions)")
            return nil
        }
        let session = HTTPSession(id: newID(), kind: kind, queueLimit: options.sessionQueueLimit, logger: logger)
        let client = core.openSession(label: "\(kind.rawValue):\(session.id.prefix(8))", caller: caller,
                                      sink: { [weak session] message in session?.deliver(message) },
                                      canReceiveRequests: { [weak session] in session?.canReceiveRequests ?? false },
                                      relatedSink: { [weak session] message, clientID in session?.deliver(message, relatedTo: clientID) })
        session.attach(client: client)
        sessions.withLock { $0[session.id] = session }
        logger.debug("HTTP session opened", metadata: ["session": "\(session.id)", "kind": "\(kind.rawValue)", "caller": "\(caller)"])
        return session
    }

    func session(_ id: String) -> HTTPSession? { sessions.withLock { $0[id] } }

    var count: Int { sessions.withLock { $0.count } }
    var all: [HTTPSession] { sessions.withLock { Array($0.values) } }

    /// Ends a session: what it had in flight is cancelled on the backends, its streams close.
    func end(_ session: HTTPSession, reason: String) {
        guard sessions.withLock({ $0.removeValue(forKey: session.id) }) != nil else { return }
        logger.info("HTTP session ended: \(reason)", metadata: ["session": "\(session.id)", "kind": "\(session.kind.rawValue)"])
        core.closeSession(session.client)
        session.close()
    }

    /// Once a second: keep-alive pings, eviction of wedged sessions, expiry of idle ones.
    func sweep(now: UInt64 = MonotonicClock.nanoseconds()) {
        // Every difference of clock readings saturates: a request may touch a session (or a
        // message push the queue over) after `now` was read, making the later reading larger.
        let evictAfter = MonotonicClock.nanoseconds(seconds: options.evictAfter)
        let idleLimit = MonotonicClock.nanoseconds(seconds: options.sessionIdleTimeout)
        let pingInterval = MonotonicClock.nanoseconds(seconds: options.keepAliveInterval)
        for session in all {
            if let over = session.queue.overSince, MonotonicClock.elapsed(from: over, to: now) >= evictAfter {
                evictions.increment()
                logger.warning("evicting a session whose client does not read its stream (\(session.queue.count) messages queued for \(formatSeconds(options.evictAfter)) s)",
                               metadata: ["session": "\(session.id)"])
                end(session, reason: "evicted: client not reading")
                continue
            }
            // A session with an open stream is alive as long as the stream is; others expire.
            if !session.hasStream, session.client.outstanding == 0,
               MonotonicClock.elapsed(from: session.idleSince, to: now) >= idleLimit {
                end(session, reason: "idle for \(formatSeconds(options.sessionIdleTimeout)) s")
                continue
            }
            session.pingIfDue(now: now, interval: pingInterval)
        }
    }

    func endAll(reason: String) {
        for session in all { end(session, reason: reason) }
    }
}
