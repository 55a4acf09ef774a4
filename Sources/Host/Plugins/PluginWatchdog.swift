#if canImport(Glibc)
import Glibc
#endif
import LineIO
import Locking
import Logging
import Synchronization

/// Names a plugin that blocks where the ABI forbids it (`send`, `close`, `expose`, `route`,
/// `allow` must return at once). The host cannot stop a call that blocks; it can say so: calls run
/// between `begin` and `end`, and a watchdog thread logs every call still running past the limit
/// (naming the plugin, the function and how long so far) once, and again when it finally returns.
/// `mcp-host validate-plugin` fails such a plugin outright.
enum PluginWatchdog {
    /// Calls slower than this are reported (100 ms: far past any non-blocking call).
    static let limitNanoseconds: UInt64 = 100_000_000

    struct Call {
        let plugin: String
        let function: String
        let started: UInt64
        let logger: Logger
        var reported = false
    }

    private static let calls = Locked<[UInt64: Call]>([:])
    private static let counter = Atomic<UInt64>(1)
    private static let watcher: Void = {
        _ = DedicatedThread.start(detached: true) { PluginWatchdog.watch() }
    }()

    /// Records a call about to be made; pass the token to `end`.
    static func begin(_ plugin: String, _ function: String, logger: Logger) -> UInt64 {
        _ = watcher
        let token = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let call = Call(plugin: plugin, function: function, started: MonotonicClock.nanoseconds(), logger: logger)
        calls.withLock { $0[token] = call }
        return token
    }

    /// The call returned; a late one is logged (once more, with its full duration, if the watcher
    /// already reported it).
    static func end(_ token: UInt64) {
        guard let call = calls.withLock({ $0.removeValue(forKey: token) }) else { return }
        let took = MonotonicClock.elapsed(from: call.started, to: MonotonicClock.nanoseconds())
        guard took >= limitNanoseconds else { return }
        call.logger.error("plugin '\(call.plugin)' blocked in \(call.function) for \(took / 1_000_000) ms; the plugin ABI requires \(call.function) to return at once (this held up every request that needed it): fix or replace the plugin, and check it with `mcp-host validate-plugin`")
    }

    /// Runs `body` as one watched call.
    static func watch<Result>(_ plugin: String, _ function: String, logger: Logger, _ body: () -> Result) -> Result {
        let token = begin(plugin, function, logger: logger)
        defer { end(token) }
        return body()
    }

    /// Every 250 ms: names the calls still running past the limit (each once while it runs).
    private static func watch() {
        while true {
            usleep(250_000)
            let now = MonotonicClock.nanoseconds()
            let late = calls.withLock { calls -> [Call] in
                var late: [Call] = []
                for (token, call) in calls where !call.reported && MonotonicClock.elapsed(from: call.started, to: now) >= limitNanoseconds {
                    calls[token]?.reported = true
                    late.append(call)
                }
                return late
            }
            for call in late {
                let took = MonotonicClock.elapsed(from: call.started, to: now)
                call.logger.error("plugin '\(call.plugin)' has been blocked in \(call.function) for \(took / 1_000_000) ms and has not returned; the plugin ABI requires \(call.function) to return at once: the requests that need this plugin wait, the others go on. Fix or replace the plugin (check it with `mcp-host validate-plugin`)")
            }
        }
    }
}
