import Locking
import Logging
import NIOCore
import Synchronization

/// One request's answer path on a Streamable HTTP POST: the response (and, for an SSE answer, the
/// progress and backend requests before it) arrive here.
///
/// Bound: at most `limit` messages *before* the response are queued (a client that does not read
/// its POST stream); past that they are dropped, with one log line per exchange and a count when
/// the response goes out. The response itself is never refused for the bound: it is the one
/// message the request cannot do without, and it ends the exchange, so it adds at most one.
final class PostExchange: Sendable {
    static let limit = 1024
    let queue = MessageQueue(limit: PostExchange.limit)
    /// Whether the answer goes out as an SSE stream (else as one JSON body).
    let streaming: Bool
    /// The client's progress token, when its messages go on this POST's SSE stream.
    let progressToken: [UInt8]?
    private let dropped = Atomic<Int>(0)

    init(streaming: Bool, progressToken: [UInt8]?) {
        self.streaming = streaming
        self.progressToken = streaming ? progressToken : nil
    }

    /// Queues a message that comes before the response (progress, a backend's request); false
    /// if the stream is closed or holds `limit` messages already (the message is dropped).
    func offer(_ message: [UInt8], logger: Logger, session: String) -> Bool {
        if queue.pushWithinLimit(message) { return true }
        if queue.isClosed { return false }
        if dropped.wrappingAdd(1, ordering: .relaxed).oldValue == 0 {
            logger.warning("a POST stream holds \(PostExchange.limit) unread messages (its client is not reading): dropping further messages before the response; the response itself will still be sent",
                           metadata: ["session": "\(session)"])
        }
        return false
    }

    /// Queues the response and ends the exchange. Refused only when the stream is already closed
    /// (the client went away or cancelled).
    func finish(_ response: [UInt8], logger: Logger, session: String) {
        let lost = dropped.load(ordering: .relaxed)
        if lost > 0 {
            logger.warning("\(lost) messages before the response were dropped on a POST stream whose client did not read",
                           metadata: ["session": "\(session)"])
        }
        queue.pushFinal(response)
        queue.close()
    }

    var droppedCount: Int { dropped.load(ordering: .relaxed) }
}

/// An HTTP client session (Streamable HTTP or legacy HTTP+SSE) and where its outgoing messages go.
///
/// Messages from the core arrive in `deliver` (any thread, never blocking): a response goes to
/// the POST that carried its request; progress goes to that POST's SSE stream when it has one;
/// everything else goes to the session's own stream (the GET stream, or the legacy SSE stream),
/// through a bounded queue.
final class HTTPSession: Sendable {
    enum Kind: String, Sendable {
        case streamable
        case legacy
    }

    private struct Exchanges {
        var byID: [[UInt8]: PostExchange] = [:]
        var byToken: [[UInt8]: PostExchange] = [:]
        /// POSTs whose SSE stream is open, oldest first: where a backend's request can go.
        var streams: [PostExchange] = []

        /// Forgets `id`'s exchange (its response arrived, or the client cancelled it).
        mutating func remove(id: [UInt8]) -> PostExchange? {
            guard let exchange = byID.removeValue(forKey: id) else { return nil }
            forgetStream(exchange)
            return exchange
        }

        mutating func forgetStream(_ exchange: PostExchange) {
            if let token = exchange.progressToken, byToken[token] === exchange { byToken.removeValue(forKey: token) }
            streams.removeAll { $0 === exchange }
        }
    }

    /// A connection that can be closed to unblock a stream writer stuck on a client that does not read.
    struct StreamHandle: Sendable {
        let channel: any Channel
    }

    let id: String
    let kind: Kind
    /// The session's own stream: the GET stream (streamable) or the whole session (legacy).
    let queue: MessageQueue
    private let exchanges = Locked(Exchanges())
    private let lastActive = Atomic<UInt64>(MonotonicClock.nanoseconds())
    private let lastPing = Atomic<UInt64>(MonotonicClock.nanoseconds())
    private let stream = Locked<StreamHandle?>(nil)
    private let clientBox = Locked<ClientSession?>(nil)

    private let logger: Logger

    init(id: String, kind: Kind, queueLimit: Int, logger: Logger = Logger(label: "mcp-host.http")) {
        self.id = id
        self.kind = kind
        self.queue = MessageQueue(limit: queueLimit)
        self.logger = logger
    }

    var client: ClientSession { clientBox.withLock { $0! } }
    func attach(client: ClientSession) { clientBox.withLock { $0 = client } }

    func touch(now: UInt64 = MonotonicClock.nanoseconds()) { lastActive.store(now, ordering: .relaxed) }
    var idleSince: UInt64 { lastActive.load(ordering: .relaxed) }

    // MARK: - Streams

    /// Claims the session's stream for a GET (one at a time); false if one is open.
    func openStream(_ handle: StreamHandle) -> Bool {
        stream.withLock { current in
            guard current == nil else { return false }
            current = handle
            return true
        }
    }

    func streamEnded() { stream.withLock { $0 = nil } }
    var hasStream: Bool { stream.withLock { $0 != nil } }

    /// Queues a keep-alive comment if the stream is open, idle, and has not had one for `interval`.
    func pingIfDue(now: UInt64, interval: UInt64) {
        guard hasStream, MonotonicClock.elapsed(from: lastPing.load(ordering: .relaxed), to: now) >= interval else { return }
        lastPing.store(now, ordering: .relaxed)
        queue.pushIfIdle([])
    }

    /// Ends everything: the stream, pending POSTs, and the connection of a wedged stream.
    func close() {
        queue.close()
        let pending = exchanges.withLock { state -> [PostExchange] in
            defer { state = Exchanges() }
            return Array(state.byID.values)
        }
        for exchange in pending { exchange.queue.close() }
        if let handle = stream.withLock({ $0 }) { handle.channel.close(promise: nil) }
    }

    /// Whether a request from a backend can reach the client now: on a legacy stream, on the
    /// GET stream, or on the SSE stream of a POST in flight. `deliver` uses exactly these.
    var canReceiveRequests: Bool {
        kind == .legacy || hasStream || exchanges.withLock { $0.streams.isEmpty == false }
    }

    // MARK: - Exchanges

    /// Registers the answer path of request `id`; false (and nothing changes) when a request with
    /// the same id is still in flight in this session: ids are never reused while in flight, and
    /// the first request keeps its answer path.
    func register(_ exchange: PostExchange, id: [UInt8]) -> Bool {
        exchanges.withLock { state in
            guard state.byID[id] == nil else { return false }
            state.byID[id] = exchange
            if exchange.streaming { state.streams.append(exchange) }
            if let token = exchange.progressToken { state.byToken[token] = exchange }
            return true
        }
    }

    /// The client cancelled request `id`: its POST ends without a response.
    func cancelExchange(id: [UInt8]) {
        exchanges.withLock { $0.remove(id: id) }?.queue.close()
    }

    /// A POST's SSE stream ended (answered, or the client went away): nothing more goes there.
    func exchangeStreamEnded(_ exchange: PostExchange) {
        exchanges.withLock { $0.forgetStream(exchange) }
        exchange.queue.close()
    }

    /// A message that belongs to the client's request `clientID` (a backend's request or log
    /// message that came on that request's answer stream): on that request's POST stream while it
    /// is open, else as any other message. Never blocks.
    func deliver(_ message: [UInt8], relatedTo clientID: [UInt8]) {
        if kind == .streamable, let exchange = exchanges.withLock({ $0.byID[clientID] }), exchange.streaming,
           exchange.offer(message, logger: logger, session: id) {
            return
        }
        deliver(message)
    }

    /// The sink the core writes this session's messages to. Never blocks.
    func deliver(_ message: [UInt8]) {
        guard kind == .streamable, let envelope = try? Envelope.parse(message) else {
            queue.push(message)
            return
        }
        switch envelope.kind {
        case .response:
            if let id = envelope.idBytes, let exchange = exchanges.withLock({ $0.remove(id: id) }) {
                exchange.finish(message, logger: logger, session: self.id)
                return
            }
        case .request:
            // A backend's request (sampling, elicitation, roots): on the POST stream in flight if
            // there is exactly one (it is the request that caused it), else on the GET stream, and
            // without a GET stream on the oldest POST stream still open (what `canReceiveRequests`
            // promised). A stream that is full or closed is skipped.
            let posts = exchanges.withLock { $0.streams }
            if posts.count == 1 || !hasStream {
                for post in posts where post.offer(message, logger: logger, session: self.id) { return }
            }
        case .notification where envelope.method == "notifications/progress":
            if let token = envelope.param("progressToken").map({ Array(envelope.bytes[$0.value]) }),
               let exchange = exchanges.withLock({ $0.byToken[token] }) {
                _ = exchange.offer(message, logger: logger, session: self.id)
                return
            }
        default:
            break
        }
        // Without an open GET stream there is nowhere to send it (a POST stream carries only its
        // own request's messages and backends' requests), so it is not queued up for a stream
        // that may never come.
        if hasStream { queue.push(message) }
    }
}
