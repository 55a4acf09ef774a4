import Locking
import Synchronization

/// One connected client (a stdio peer, an HTTP session, or the host's own one-shot commands).
///
/// `send` must never block: front-ends enqueue into a bounded per-session queue.
public final class ClientSession: Sendable {
    public struct State: Sendable {
        public var protocolVersion: String?
        public var clientName: String?
        public var initialized = false
        /// Lowest `notifications/message` severity this client asked for (`logging/setLevel`).
        public var logLevel: LogSeverity = .debug
        /// Capability names the client declared in `initialize` (`sampling`, `elicitation`, `roots`).
        public var capabilities: Set<String> = []
    }

    public let id: UInt64
    public let label: String
    /// Who the client is, as its front-end authenticated it (an HTTP bearer token's subject and
    /// roles; none for stdio, socket and cli): what routers' `allow` decides on. Never taken from
    /// the client's own `clientInfo`.
    public let caller: Caller
    private let sink: @Sendable ([UInt8]) -> Void
    /// Where a message that belongs to one of this client's requests goes (an HTTP session puts
    /// it on that request's POST stream); nil: the ordinary sink.
    private let relatedSink: (@Sendable (_ message: [UInt8], _ clientID: [UInt8]) -> Void)?
    /// Whether a request sent now would reach the client (an HTTP client needs an open stream).
    let canReceiveRequests: @Sendable () -> Bool
    public let state = Locked(State())
    /// Requests accepted from this client and not answered yet.
    private let outstandingCount = Atomic<Int>(0)

    init(id: UInt64, label: String, caller: Caller? = nil, sink: @escaping @Sendable ([UInt8]) -> Void,
         canReceiveRequests: @escaping @Sendable () -> Bool, relatedSink: (@Sendable ([UInt8], [UInt8]) -> Void)? = nil) {
        self.id = id
        self.label = label
        self.caller = caller ?? .anonymous(Caller.frontEnd(ofLabel: label))
        self.sink = sink
        self.relatedSink = relatedSink
        self.canReceiveRequests = canReceiveRequests
    }

    /// Delivers one complete JSON-RPC message (a notification) to the client. Never blocks.
    public func send(_ message: [UInt8]) { sink(message) }

    /// Delivers a message that belongs to the client's request `clientID` (a backend's request or
    /// log message that came on that request's answer stream). Never blocks.
    public func send(_ message: [UInt8], relatedTo clientID: [UInt8]) {
        if let relatedSink { relatedSink(message, clientID) } else { sink(message) }
    }

    /// Delivers the response to a request counted by `accepted()`. Never blocks.
    public func reply(_ message: [UInt8]) {
        sink(message)
        outstandingCount.subtract(1, ordering: .relaxed)
    }

    /// Counts a request that will get exactly one `reply` (or a `dropped`).
    func accepted() { outstandingCount.add(1, ordering: .relaxed) }

    /// A counted request will get no reply (the client cancelled it).
    func dropped() { outstandingCount.subtract(1, ordering: .relaxed) }

    /// Requests of this client still waiting for their response.
    public var outstanding: Int { outstandingCount.load(ordering: .relaxed) }
}

/// The live sessions, for broadcasts (list changes, log messages).
final class SessionRegistry: Sendable {
    private let sessions = Locked<[UInt64: ClientSession]>([:])
    private let nextID = Atomic<UInt64>(1)

    func open(label: String, caller: Caller? = nil, sink: @escaping @Sendable ([UInt8]) -> Void,
              canReceiveRequests: @escaping @Sendable () -> Bool,
              relatedSink: (@Sendable ([UInt8], [UInt8]) -> Void)? = nil) -> ClientSession {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let session = ClientSession(id: id, label: label, caller: caller, sink: sink, canReceiveRequests: canReceiveRequests,
                                    relatedSink: relatedSink)
        sessions.withLock { $0[id] = session }
        return session
    }

    func close(_ session: ClientSession) {
        _ = sessions.withLock { $0.removeValue(forKey: session.id) }
    }

    var count: Int { sessions.withLock { $0.count } }

    func session(_ id: UInt64) -> ClientSession? { sessions.withLock { $0[id] } }

    /// Sends `message` to every initialized session (for a log message, to those whose level
    /// admits its severity).
    func broadcast(_ message: [UInt8], severity: LogSeverity? = nil) {
        let targets = sessions.withLock { Array($0.values) }
        for session in targets where session.state.withLock({ $0.initialized && (severity ?? .emergency) >= $0.logLevel }) {
            session.send(message)
        }
    }
}

/// MCP log levels (RFC 5424 severities), ordered from least to most severe.
public enum LogSeverity: Int, Sendable, Comparable, CaseIterable {
    case debug, info, notice, warning, error, critical, alert, emergency

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { "\($0)" == name }) else { return nil }
        self = match
    }

    public static func < (a: LogSeverity, b: LogSeverity) -> Bool { a.rawValue < b.rawValue }
}
