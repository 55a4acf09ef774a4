/// When an idle backend is shut down (reaped): per server, `idle_timeout` in the config.
public enum IdleTimeout: Sendable, Equatable {
    /// From the backend's request rate, clamped to `min`...`max` seconds (the default: 1 to 5 min).
    case adaptive(min: Double, max: Double)
    /// A fixed number of seconds.
    case fixed(Double)
    /// Never reaped.
    case never

    public static let `default` = IdleTimeout.adaptive(min: 60, max: 300)
}

/// A backend's usage, kept across its restarts (pure: the clock is passed in, in nanoseconds).
///
/// Only clients' requests count; the host's own list fetches do not. The adaptive idle timeout
/// looks at the requests of the last hour: more than 20 → 5 min, 5 to 20 → 3 min, fewer → 1 min,
/// clamped to the server's min/max. A backend that has never served a request is not reaped
/// before the max (warm-up grace).
public struct UsageStats: Sendable {
    /// Times of the most recent requests (at most `window`): enough to tell "more than 20".
    private var recent: [UInt64] = []
    private static let window = 21
    /// Requests served since the host started (all starts of the backend).
    public private(set) var served: UInt64 = 0

    public init() {}

    public mutating func recordRequest(now: UInt64) {
        if recent.count == Self.window { recent.removeFirst() }
        recent.append(now)
        served &+= 1
    }

    /// Client requests in the hour before `now`.
    public func requestsInLastHour(now: UInt64) -> Int {
        let hour: UInt64 = 3600 * 1_000_000_000
        return recent.filter { MonotonicClock.elapsed(from: $0, to: now) < hour }.count
    }

    /// The idle timeout in force (nil: never), and its tier for status and logs.
    public func idleTimeout(_ policy: IdleTimeout, now: UInt64) -> (seconds: Double?, tier: String) {
        switch policy {
        case .never:
            return (nil, "never")
        case .fixed(let seconds):
            return (seconds, "fixed")
        case .adaptive(let low, let high):
            if served == 0 { return (high, "warm-up") }
            let rate = requestsInLastHour(now: now)
            let (seconds, tier): (Double, String) = rate > 20 ? (300, "busy") : rate >= 5 ? (180, "moderate") : (60, "quiet")
            return (Swift.min(Swift.max(seconds, low), high), tier)
        }
    }

    /// Whether a backend idle since `idleSince` (and not busy) is due to be reaped at `now`.
    public func isDue(_ policy: IdleTimeout, idleSince: UInt64, now: UInt64) -> Bool {
        guard let seconds = idleTimeout(policy, now: now).seconds else { return false }
        return MonotonicClock.elapsed(from: idleSince, to: now) >= MonotonicClock.nanoseconds(seconds: seconds)
    }
}
