/// One backend's state as `/health` and `mcp-host status` show it.
public struct BackendStatus: Sendable, Equatable {
    public let name: String
    public let transport: String
    /// stopped, starting, ready, idle, reaping, backing-off, removed.
    public let state: String
    /// The process the transport started (stdio: the supervisor holding the backend's process
    /// group), while it runs.
    public let pid: Int32?
    /// What the transport connected to, without secrets (an HTTP backend's URL), while it runs.
    public let endpoint: String?
    /// Seconds since the running connection became ready.
    public let uptimeSeconds: Double?
    /// Client requests served since the host started (every start of the backend).
    public let requestsServed: UInt64
    public let inFlight: Int
    /// The idle timeout in force (nil: never reaped) and its tier (busy, moderate, quiet,
    /// warm-up, fixed, never).
    public let idleTimeoutSeconds: Double?
    public let idleTier: String
    /// The last failed start or unexpected end, and how long ago.
    public let lastError: String?
    public let lastErrorSecondsAgo: Double?
    /// Seconds until the next start is allowed, while backing off.
    public let backoffSeconds: Double?
    public let starts: UInt64
    public let reaps: UInt64
    public let crashes: UInt64

    /// The JSON object of `/health`'s `backends` map (absent values are left out).
    public var json: [String: Any] {
        var object: [String: Any] = [
            "state": state, "transport": transport, "in_flight": inFlight, "requests_served": requestsServed,
            "idle_tier": idleTier, "starts": starts, "reaps": reaps, "crashes": crashes,
        ]
        func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
        if let pid { object["pid"] = Int(pid) }
        if let endpoint { object["endpoint"] = endpoint }
        if let uptimeSeconds { object["uptime_seconds"] = rounded(uptimeSeconds) }
        if let idleTimeoutSeconds { object["idle_timeout_seconds"] = rounded(idleTimeoutSeconds) }
        if let lastError { object["last_error"] = lastError }
        if let lastErrorSecondsAgo { object["last_error_seconds_ago"] = rounded(lastErrorSecondsAgo) }
        if let backoffSeconds { object["backoff_seconds"] = rounded(backoffSeconds) }
        return object
    }
}
