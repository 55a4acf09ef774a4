/// Why a backend could not serve a request. Each case renders as a JSON-RPC error for the client.
public enum BackendError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No loaded plugin provides the transport the server's configuration asks for.
    case noTransport(backend: String, transport: String, available: [String])
    /// The transport refused to open the connection.
    case openFailed(String)
    /// The backend failed to start (open failed, exited during start-up, or `initialize` failed).
    case startFailed(backend: String, reason: String)
    /// The backend is backing off after a failed start.
    case backingOff(backend: String, reason: String, retryInSeconds: Int)
    /// The backend exited or broke the protocol while requests were in flight.
    case exited(backend: String, detail: String)
    /// The backend did not answer within the deadline.
    case timedOut(backend: String, method: String, seconds: Double)
    /// The backend answered a host request with an error.
    case rejected(backend: String, method: String, message: String)
    /// The backend's queue is full.
    case overloaded(backend: String)
    /// The client already has the most requests in flight on this backend that one client may.
    case clientLimit(backend: String, limit: Int)
    /// The host is shutting down or the session ended.
    case cancelled(String)

    public var code: Int {
        switch self {
        case .timedOut: return JSONRPCErrorCode.requestTimeout
        case .overloaded, .clientLimit: return JSONRPCErrorCode.overloaded
        case .cancelled: return JSONRPCErrorCode.requestCancelled
        default: return JSONRPCErrorCode.backendUnavailable
        }
    }

    public var description: String {
        switch self {
        case .noTransport(let backend, let transport, let available):
            let list = available.isEmpty ? "none" : available.sorted().joined(separator: ", ")
            return "backend '\(backend)': no transport '\(transport)' is loaded (loaded transports: \(list)); check --plugins and run `mcp-host plugins` to see what was loaded or rejected"
        case .openFailed(let reason):
            return reason
        case .startFailed(let backend, let reason):
            return "backend '\(backend)' failed to start: \(reason)"
        case .backingOff(let backend, let reason, let retry):
            return "backend '\(backend)' is unavailable (failed to start: \(reason)); next attempt in \(retry) s"
        case .exited(let backend, let detail):
            return "backend '\(backend)' \(detail)"
        case .timedOut(let backend, let method, let seconds):
            return "backend '\(backend)' did not answer \(method) within \(formatSeconds(seconds)) s; the request was cancelled"
        case .rejected(let backend, let method, let message):
            return "backend '\(backend)' answered \(method) with an error: \(message)"
        case .overloaded(let backend):
            return "backend '\(backend)' has too many queued messages; try again"
        case .clientLimit(let backend, let limit):
            return "this client already has \(limit) requests in flight on backend '\(backend)', the most one client may have (--max-client-requests); wait for some to finish"
        case .cancelled(let why):
            return why
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    // Int(_:) traps for NaN, infinity and values past Int.max: only whole numbers well inside go through it.
    seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
}
