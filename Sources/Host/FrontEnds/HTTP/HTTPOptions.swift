/// Settings of the HTTP front-end.
public struct HTTPOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 7332
    /// Allow a non-loopback bind without bearer tokens (`--insecure`).
    public var insecure = false
    /// Accepted bearer tokens, with the subject and roles each authenticates; when non-empty
    /// every request needs one.
    public var bearerTokens: [BearerToken] = []
    /// Origins allowed besides the loopback ones (exact `scheme://host[:port]`).
    public var allowedOrigins: Set<String> = []
    /// Largest accepted request body; larger ones get 413.
    public var maxBodyBytes = 4 << 20
    /// A session with no request and no open stream for this long expires (then 404).
    public var sessionIdleTimeout: Double = 1800
    /// Keep-alive comment interval on SSE streams.
    public var keepAliveInterval: Double = 15
    /// A session whose stream queue stays over its bound this long is evicted.
    public var evictAfter: Double = 5
    /// Most sessions at once; past it a new session gets 503 (idle ones expire, wedged ones are evicted).
    public var maxSessions = 1024
    /// Messages a session's stream may queue before it counts as wedged.
    public var sessionQueueLimit = 1024
    /// On shutdown, how long in-flight requests may take before they are failed.
    public var shutdownTimeout: Double = 10
    /// Prefix of issued session ids (`--replica-id`), for load balancers routing on it.
    public var replicaID: String?

    public init() {}

    /// The accepted range of each user-settable number (see `HostOptions.Limits`).
    public enum Limits {
        /// `--session-timeout`: 1 s to 30 days.
        public static let sessionIdleTimeout = SettingCheck.DurationRange(1, 30 * 86_400)
        /// `--shutdown-timeout`: 0 (fail in-flight requests at once) to 1 hour.
        public static let shutdownTimeout = SettingCheck.DurationRange(0, 3_600)
        /// `--max-body-bytes`: 1 KiB (an `initialize` fits) to 1 GiB.
        public static let maxBodyBytes: ClosedRange<Int> = 1_024...(1 << 30)
        /// `--max-sessions`: 1 to 1,000,000.
        public static let maxSessions: ClosedRange<Int> = 1...1_000_000
    }

    /// Parses `HOST:PORT`, `:PORT`, `HOST` or `[IPv6]:PORT`.
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (host, 7332) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port) else { return nil }
            return (host, port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return text.isEmpty ? nil : (text, 7332)
        case 2:
            guard let port = Int(parts[1]), (0...65535).contains(port) else { return nil }
            return (parts[0].isEmpty ? "127.0.0.1" : String(parts[0]), port)
        default: return nil
        }
    }

    /// `localhost`, `::1`, or an IPv4 literal in 127.0.0.0/8 (a name such as
    /// `127.0.0.1.evil.example` is not).
    public static func isLoopback(_ host: String) -> Bool { RequestValidation.isLoopback(host) }
}
