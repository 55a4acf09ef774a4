import Locking
import Logging

/// Names a plugin that blocks where the ABI forbids it (`send`, `close`, `expose`, `route`,
/// `allow` must return at once). The host cannot stop a call that blocks: it can only notice when
/// the call returns late and say so, naming the plugin and the function, at most once a minute per
/// plugin and function (`mcp-host validate-plugin` fails such a plugin outright).
enum PluginWatchdog {
    /// Calls slower than this are reported.
    static let limitNanoseconds: UInt64 = 100_000_000
    private static let lastReport = Locked<[String: UInt64]>([:])

    static func check(_ plugin: String, _ function: String, started: UInt64, logger: Logger) {
        let now = MonotonicClock.nanoseconds()
        let took = MonotonicClock.elapsed(from: started, to: now)
        guard took >= limitNanoseconds else { return }
        let key = plugin + "." + function
        let report = lastReport.withLock { last -> Bool in
            if let previous = last[key], MonotonicClock.elapsed(from: previous, to: now) < 60_000_000_000 { return false }
            last[key] = now
            return true
        }
        guard report else { return }
        logger.error("plugin '\(plugin)' blocked in \(function) for \(took / 1_000_000) ms; the plugin ABI requires \(function) to return at once (this delays every request that needs it): fix or replace the plugin, and check it with `mcp-host validate-plugin`")
    }
}
