/// The lifecycle of one backend as a state machine: which phase it is in, what a request does in
/// each, when it is reaped, how long it backs off after failed starts, and what status shows.
///
/// Pure: no I/O, no locks, no clock of its own (every transition takes `now`, monotonic ns), so it
/// is unit-tested without processes (`BackendLifecycleTests`). `Backend` keeps one under its
/// control lock and does the I/O each transition calls for. Generic over the live connection and
/// the start in progress, which the tests replace with plain values.
///
/// ```
///            request                     handshake done
///  stopped ───────────► starting ───────────────────────► ready ◄──┐ request
///     ▲  ▲                 │ failed                          │      │ (idle = ready, nothing held)
///     │  │                 ▼                                 │      │
///     │  └── request ─ backing-off (until, reason)           ├── connection ended ──► stopped
///     │      after until                                     │
///     └──── reaping ◄──────────────── reaped (idle past its idle timeout)
///  removed: the server left the configuration; terminal, every request is refused.
/// ```
public struct BackendLifecycle<Live, Start> {
    public enum Phase {
        case stopped
        case starting(Start)
        case ready(Live)
        /// Reaped: its connection is being closed (within the shutdown grace). A request starts a
        /// new connection, which waits for the old one to be gone.
        case reaping
        case backingOff(until: UInt64, reason: String)
        /// Taken out of the configuration (hot reload) or the host is shutting down: terminal.
        case removed(reason: String)
    }

    /// Delays after failed starts: `initial`, doubling per consecutive failure, at most `maximum`.
    public struct Backoff: Sendable, Equatable {
        public var initial: Double
        public var maximum: Double
        public init(initial: Double, maximum: Double) {
            self.initial = initial
            self.maximum = maximum
        }

        /// Seconds to wait after the `failures`-th consecutive failure (1-based). Never traps.
        public func delay(afterFailures failures: Int) -> Double {
            guard failures > 0, initial.isFinite, maximum.isFinite else { return 0 }
            let exponent = Swift.min(failures - 1, 30)
            return Swift.max(0, Swift.min(initial * Double(1 << exponent), maximum))
        }
    }

    /// What a request finds.
    public enum Admission {
        /// Ready: use it.
        case live(Live)
        /// A start is running: wait for it.
        case wait(Start)
        /// Start one now (the phase is `starting` with the value the caller made).
        case started(Start)
        /// Backing off after failed starts: refuse, saying when to retry.
        case backingOff(reason: String, retryInNanoseconds: UInt64)
        /// Removed or shutting down: refuse.
        case refused(reason: String)
    }

    /// What a reap decision needs to know about the backend at the moment it is taken.
    public struct Holds: Sendable, Equatable {
        /// Client or host requests in flight.
        public var requests = 0
        /// Resource subscriptions held (URI × session pairs).
        public var subscriptions = 0
        /// Requests of its own waiting for a client's answer (sampling, elicitation, roots).
        public var awaitingClient = false
        /// A list fetch or a subscription operation is running.
        public var operations = false
        public init(requests: Int = 0, subscriptions: Int = 0, awaitingClient: Bool = false, operations: Bool = false) {
            self.requests = requests
            self.subscriptions = subscriptions
            self.awaitingClient = awaitingClient
            self.operations = operations
        }

        public var any: Bool { requests > 0 || subscriptions > 0 || awaitingClient || operations }
    }

    public private(set) var phase: Phase = .stopped
    public let backoff: Backoff
    /// Consecutive failed starts (reset by a successful one), at most 64.
    public private(set) var failures = 0
    /// When the current connection became ready (monotonic ns); nil unless ready.
    public private(set) var readySince: UInt64?
    /// Successful starts, reaps and unexpected ends since the host started.
    public private(set) var starts: UInt64 = 0
    public private(set) var reaps: UInt64 = 0
    public private(set) var crashes: UInt64 = 0
    /// The last failure (a failed start, a connection that ended on its own) and when.
    public private(set) var lastError: (message: String, at: UInt64)?

    public init(backoff: Backoff) {
        self.backoff = backoff
    }

    // MARK: - Transitions

    /// A request needs the backend. `makeStart` is called (under the caller's lock) only when a
    /// start begins here.
    public mutating func admit(now: UInt64, makeStart: () -> Start) -> Admission {
        switch phase {
        case .ready(let live):
            return .live(live)
        case .starting(let start):
            return .wait(start)
        case .removed(let reason):
            return .refused(reason: reason)
        case .backingOff(let until, let reason) where now < until:
            return .backingOff(reason: reason, retryInNanoseconds: MonotonicClock.remaining(until: until, now: now))
        case .stopped, .reaping, .backingOff:
            let start = makeStart()
            phase = .starting(start)
            return .started(start)
        }
    }

    /// The start finished with a live connection. Returns false (and stays stopped) when the
    /// machine left `starting` meanwhile (removed, or the connection already ended).
    @discardableResult
    public mutating func startSucceeded(_ live: Live, now: UInt64) -> Bool {
        guard case .starting = phase else { return false }
        phase = .ready(live)
        failures = 0
        readySince = now
        starts &+= 1
        return true
    }

    /// The connection ended between the handshake and being marked ready: not a failed start (the
    /// handshake worked), so the next request starts it again at once.
    public mutating func startLost(_ detail: String, now: UInt64) {
        guard case .starting = phase else { return }
        phase = .stopped
        lastError = (detail, now)
    }

    /// The start failed: back off before the next one, longer after each consecutive failure.
    /// Returns the delay in seconds.
    @discardableResult
    public mutating func startFailed(_ reason: String, now: UInt64) -> Double {
        lastError = (reason, now)
        guard case .starting = phase else { return 0 }
        failures = Swift.min(failures + 1, 64)
        let delay = backoff.delay(afterFailures: failures)
        phase = .backingOff(until: MonotonicClock.deadline(after: delay, from: now), reason: reason)
        return delay
    }

    /// The ready connection ended on its own (exited, broke the protocol): stopped; the next
    /// request starts it again.
    public mutating func connectionEnded(_ detail: String, now: UInt64, unexpected: Bool) {
        if unexpected {
            lastError = (detail, now)
            crashes &+= 1
        }
        if case .ready = phase { phase = .stopped }
        readySince = nil
    }

    /// Whether a ready backend is due to be reaped now: idle (nothing held) since `idleSince` for
    /// at least its idle timeout under `policy` and `usage`.
    public func reapDue(now: UInt64, idleSince: UInt64, holds: Holds, usage: UsageStats, policy: IdleTimeout) -> Bool {
        guard case .ready = phase, !holds.any else { return false }
        return usage.isDue(policy, idleSince: idleSince, now: now)
    }

    /// The reaper took the ready connection down: `reaping` until `reapFinished`.
    public mutating func reaped(now: UInt64) {
        guard case .ready = phase else { return }
        phase = .reaping
        readySince = nil
        reaps &+= 1
    }

    /// The reaped connection is gone. A start that began meanwhile keeps its phase.
    public mutating func reapFinished() {
        if case .reaping = phase { phase = .stopped }
    }

    /// Taken out of service for good (removed from the configuration, or the host shuts down).
    public mutating func remove(reason: String) {
        phase = .removed(reason: reason)
        readySince = nil
    }

    // MARK: - Status

    /// The phase's name for status output and metrics: stopped, starting, ready, idle, reaping,
    /// backing-off, removed (`idle` is ready with nothing held).
    public func stateName(idle: Bool) -> String {
        switch phase {
        case .stopped: return "stopped"
        case .starting: return "starting"
        case .ready: return idle ? "idle" : "ready"
        case .reaping: return "reaping"
        case .backingOff: return "backing-off"
        case .removed: return "removed"
        }
    }

    public var live: Live? {
        if case .ready(let live) = phase { return live }
        return nil
    }

    /// Seconds since the current connection became ready; nil unless ready.
    public func uptime(now: UInt64) -> Double? {
        readySince.map { MonotonicClock.seconds(nanoseconds: MonotonicClock.elapsed(from: $0, to: now)) }
    }

    /// Seconds until the next start is allowed; nil unless backing off.
    public func backoffRemaining(now: UInt64) -> Double? {
        guard case .backingOff(let until, _) = phase else { return nil }
        return MonotonicClock.seconds(nanoseconds: MonotonicClock.remaining(until: until, now: now))
    }
}
