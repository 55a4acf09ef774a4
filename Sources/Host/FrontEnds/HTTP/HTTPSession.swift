import Locking
import NIOCore
import Synchronization

/// One request's answer path on a Streamable HTTP POST: the response (and, for an SSE answer, the
/// progress before it) arrive here.
final class PostExchange: Sendable {
    let queue = MessageQueue(limit: 1024)
    /// The client's progress token, when its messages go on this POST's SSE stream.
    let progressToken: [UInt8]?

    init(progressToken: [UInt8]?) { self.progressToken = progressToken }
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

    init(id: String, kind: Kind, queueLimit: Int) {
        self.id = id
        self.kind = kind
        self.queue = MessageQueue(limit: queueLimit)
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
        guard hasStream, now - lastPing.load(ordering: .relaxed) >= interval else { return }
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
    /// GET stream, or on the SSE stream of a POST in flight.
    var canReceiveRequests: Bool {
        kind == .legacy || hasStream || exchanges.withLock { $0.byToken.isEmpty == false }
    }

    // MARK: - Exchanges

    func register(_ exchange: PostExchange, id: [UInt8]) {
        exchanges.withLock { state in
            state.byID[id] = exchange
            if let token = exchange.progressToken { state.byToken[token] = exchange }
        }
    }

    /// The client cancelled request `id`: its POST ends without a response.
    func cancelExchange(id: [UInt8]) {
        let exchange = exchanges.withLock { state -> PostExchange? in
            guard let exchange = state.byID.removeValue(forKey: id) else { return nil }
            if let token = exchange.progressToken { state.byToken.removeValue(forKey: token) }
            return exchange
        }
        exchange?.queue.close()
    }

    /// The sink the core writes this session's messages to. Never blocks.
    func deliver(_ message: [UInt8]) {
        guard kind == .streamable, let envelope = try? Envelope.parse(message) else {
            queue.push(message)
            return
        }
        switch envelope.kind {
        case .response:
            if let id = envelope.idBytes {
                let exchange = exchanges.withLock { state -> PostExchange? in
                    guard let exchange = state.byID.removeValue(forKey: id) else { return nil }
                    if let token = exchange.progressToken { state.byToken.removeValue(forKey: token) }
                    return exchange
                }
                if let exchange {
                    exchange.queue.push(message)
                    exchange.queue.close()
                    return
                }
            }
        case .request:
            // A backend's request (sampling, elicitation): on the POST stream in flight, if there is
            // exactly one, else on the GET stream.
            let streams = exchanges.withLock { Array($0.byToken.values) }
            if streams.count == 1 {
                streams[0].queue.push(message)
                return
            }
        case .notification where envelope.method == "notifications/progress":
            if let token = envelope.param("progressToken").map({ Array(envelope.bytes[$0.value]) }),
               let exchange = exchanges.withLock({ $0.byToken[token] }) {
                exchange.queue.push(message)
                return
            }
        default:
            break
        }
        // Without an open GET stream there is nowhere to send it (a POST stream carries only
        // its own request's messages), so it is not queued up for a stream that may never come.
        if hasStream { queue.push(message) }
    }
}
