extension HostOptions {
    /// The accepted range of each setting a user can give (flag, environment or config key). Values
    /// outside are a start-up error naming the setting and the range (`SettingCheck`), so the code
    /// that converts and adds them never sees NaN, a negative or an unrepresentable value.
    public enum Limits {
        /// `--request-timeout`, `MCP_HOST_REQUEST_TIMEOUT`: 1 ms to 1 day.
        public static let requestTimeout = SettingCheck.DurationRange(0.001, 86_400)
        /// `--list-timeout`: 1 ms to 1 day (and never more than the request timeout).
        public static let listTimeout = SettingCheck.DurationRange(0.001, 86_400)
        /// Per-server `shutdown_grace`: 0 (SIGKILL at once) to 10 minutes.
        public static let shutdownGrace = SettingCheck.DurationRange(0, 600)
        /// Per-server `shutdownGraceMs` (the older spelling, in milliseconds): 0 to 600,000.
        public static let shutdownGraceMs: ClosedRange<Int> = 0...600_000
        /// Per-server `idle_timeout`, `min_idle_timeout`, `max_idle_timeout`: 1 s to 30 days.
        public static let idleTimeout = SettingCheck.DurationRange(1, 30 * 86_400)
        /// Per-server `connect_timeout` (HTTP transport): 1 ms to 1 hour.
        public static let connectTimeout = SettingCheck.DurationRange(0.001, 3_600)
        /// Per-server `max_connections` (HTTP transport's pool per host).
        public static let maxConnections: ClosedRange<Int> = 1...1_024
        /// `--max-client-requests`, `MCP_HOST_MAX_CLIENT_REQUESTS`.
        public static let maxInFlightPerClient: ClosedRange<Int> = 1...1_000_000
    }
}
