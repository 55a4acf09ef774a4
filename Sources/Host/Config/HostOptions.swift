/// Settings of the core that users can change.
public struct HostOptions: Sendable {
    /// Upper bound of every forwarded request, in seconds (`--request-timeout`).
    public var requestTimeout: Double = 120
    /// How long a list waits for one backend before answering without it, in seconds.
    public var listTimeout: Double = 15
    /// Grace for a backend's shutdown (close stdin, then SIGTERM, then SIGKILL), in milliseconds.
    public var shutdownGraceMs: UInt32 = 3000
    /// First and largest delay before a backend that failed to start is tried again, in seconds.
    public var startBackoff: (initial: Double, maximum: Double) = (30, 300)
    /// Most requests one client may have in flight on one backend at once; past it the client gets
    /// an error for the request (a shared backend is not one client's to fill).
    public var maxInFlightPerClient: Int = 256

    public init() {}
}
