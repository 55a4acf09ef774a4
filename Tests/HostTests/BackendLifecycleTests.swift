import Testing
@testable import Host

/// The backend lifecycle as a pure state machine, driven by an injected clock (plain numbers).
@Suite struct BackendLifecycleTests {
    typealias Machine = BackendLifecycle<String, Int>
    static let second: UInt64 = 1_000_000_000
    static let minute = 60 * second

    func machine() -> Machine { Machine(backoff: .init(initial: 1, maximum: 30)) }

    /// A usage history of `count` requests spread over the `span` seconds before `now`.
    func usage(requests count: Int, before now: UInt64, span: UInt64 = 3000) -> UsageStats {
        precondition(now >= span * Self.second, "the test's clock starts after the history")
        var stats = UsageStats()
        for i in 0..<count { stats.recordRequest(now: now - span * Self.second + UInt64(i) * Self.second) }
        return stats
    }

    @Test func aRequestStartsAStoppedBackendAndLaterRequestsJoinTheStart() {
        var m = machine()
        var made = 0
        guard case .started(let start) = m.admit(now: 0, makeStart: { made += 1; return 7 }) else { Issue.record("no start"); return }
        #expect(start == 7)
        guard case .wait(let joined) = m.admit(now: 1, makeStart: { made += 1; return 8 }) else { Issue.record("did not join"); return }
        #expect(joined == 7)
        #expect(made == 1, "one start however many requests")
        let ready = m.startSucceeded("live", now: 5 * Self.second)
        #expect(ready)
        guard case .live(let live) = m.admit(now: 6 * Self.second, makeStart: { 9 }) else { Issue.record("not live"); return }
        #expect(live == "live")
        #expect(m.uptime(now: 8 * Self.second) == 3)
        #expect(m.stateName(idle: false) == "ready")
        #expect(m.stateName(idle: true) == "idle")
    }

    @Test func failedStartsBackOffDoublingUpToTheMaximumAndASuccessResetsIt() {
        var m = machine()
        var now: UInt64 = 0
        var delays: [Double] = []
        for _ in 0..<7 {
            _ = m.admit(now: now, makeStart: { 1 })
            delays.append(m.startFailed("exit 1", now: now))
            // Within the back-off a request is refused, naming the reason and when to retry.
            guard case .backingOff(let reason, let retryIn) = m.admit(now: now + 1, makeStart: { 2 }) else {
                Issue.record("not backing off"); return
            }
            #expect(reason == "exit 1")
            #expect(retryIn > 0)
            #expect(m.stateName(idle: false) == "backing-off")
            now += UInt64(delays.last! * 1e9) + 1
        }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30])
        #expect(m.lastError?.message == "exit 1")
        _ = m.admit(now: now, makeStart: { 3 })
        let ready = m.startSucceeded("live", now: now)
        #expect(ready)
        #expect(m.failures == 0)
        _ = m.admit(now: now, makeStart: { 4 })
        m.connectionEnded("crashed", now: now, unexpected: true)
        _ = m.admit(now: now, makeStart: { 5 })
        let delay = m.startFailed("again", now: now)
        #expect(delay == 1, "the count restarted after the success")
    }

    @Test func backoffNeverTrapsOnAbsurdValues() {
        let wild = Machine.Backoff(initial: .infinity, maximum: .nan)
        #expect(wild.delay(afterFailures: 64) == 0)
        let big = Machine.Backoff(initial: 1e300, maximum: 1e308)
        #expect(big.delay(afterFailures: 64) == 1e308)
        #expect(Machine.Backoff(initial: 1, maximum: 30).delay(afterFailures: Int.max) == 30)
        var m = Machine(backoff: big)
        _ = m.admit(now: UInt64.max - 1, makeStart: { 1 })
        m.startFailed("x", now: UInt64.max - 1) // the deadline saturates
        #expect(m.backoffRemaining(now: UInt64.max - 1) != nil)
    }

    @Test func aConnectionLostRightAfterTheHandshakeIsNotAFailedStart() {
        var m = machine()
        _ = m.admit(now: 0, makeStart: { 1 })
        m.startLost("exited right after its start", now: 0)
        guard case .started = m.admit(now: 0, makeStart: { 2 }) else { Issue.record("no immediate restart"); return }
        #expect(m.failures == 0)
    }

    @Test func adaptiveTiersAreClampedAndAQuietBackendIsReapedAfterAMinute() {
        var m = machine()
        _ = m.admit(now: 0, makeStart: { 1 })
        m.startSucceeded("live", now: 0)
        let now = 300 * Self.minute
        let policy = IdleTimeout.default
        // Tiers by requests in the last hour: >20 → 5 min, 5...20 → 3 min, <5 → 1 min.
        #expect(usage(requests: 21, before: now).idleTimeout(policy, now: now).seconds == 300)
        #expect(usage(requests: 20, before: now).idleTimeout(policy, now: now).seconds == 180)
        #expect(usage(requests: 5, before: now).idleTimeout(policy, now: now).seconds == 180)
        #expect(usage(requests: 4, before: now).idleTimeout(policy, now: now).seconds == 60)
        // Clamped to the server's min/max.
        #expect(usage(requests: 21, before: now).idleTimeout(.adaptive(min: 60, max: 120), now: now).seconds == 120)
        #expect(usage(requests: 1, before: now).idleTimeout(.adaptive(min: 90, max: 300), now: now).seconds == 90)
        // Requests older than an hour no longer count.
        #expect(usage(requests: 21, before: now, span: 7200).requestsInLastHour(now: now) == 0)

        let quiet = usage(requests: 1, before: now)
        let idleSince = now - 59 * Self.second
        #expect(!m.reapDue(now: now, idleSince: idleSince, holds: .init(), usage: quiet, policy: policy))
        #expect(m.reapDue(now: now + Self.second, idleSince: idleSince, holds: .init(), usage: quiet, policy: policy))
    }

    @Test func warmUpGraceKeepsANeverUsedBackendUntilTheMax() {
        var m = machine()
        _ = m.admit(now: 0, makeStart: { 1 })
        m.startSucceeded("live", now: 0)
        let unused = UsageStats()
        let policy = IdleTimeout.adaptive(min: 60, max: 300)
        #expect(unused.idleTimeout(policy, now: 0).tier == "warm-up")
        #expect(!m.reapDue(now: 299 * Self.second, idleSince: 0, holds: .init(), usage: unused, policy: policy))
        #expect(m.reapDue(now: 300 * Self.second, idleSince: 0, holds: .init(), usage: unused, policy: policy))
        // A fixed timeout has no warm-up; never is never.
        #expect(m.reapDue(now: 2 * Self.second, idleSince: 0, holds: .init(), usage: unused, policy: .fixed(2)))
        #expect(!m.reapDue(now: UInt64.max, idleSince: 0, holds: .init(), usage: unused, policy: .never))
    }

    @Test func nothingHeldIsReapedAndOnlyAReadyBackendIs() {
        var m = machine()
        let later = 3600 * Self.second
        #expect(!m.reapDue(now: later, idleSince: 0, holds: .init(), usage: UsageStats(), policy: .fixed(1)), "stopped: nothing to reap")
        _ = m.admit(now: 0, makeStart: { 1 })
        #expect(!m.reapDue(now: later, idleSince: 0, holds: .init(), usage: UsageStats(), policy: .fixed(1)), "starting")
        m.startSucceeded("live", now: 0)
        for holds in [Machine.Holds(requests: 1), .init(subscriptions: 1), .init(awaitingClient: true), .init(operations: true)] {
            #expect(!m.reapDue(now: later, idleSince: 0, holds: holds, usage: UsageStats(), policy: .fixed(1)), "\(holds)")
        }
        #expect(m.reapDue(now: later, idleSince: 0, holds: .init(), usage: UsageStats(), policy: .fixed(1)))
        m.reaped(now: later)
        #expect(m.stateName(idle: true) == "reaping")
        #expect(m.reaps == 1)
        // A request during the reap starts a new connection (which waits for the old one).
        guard case .started = m.admit(now: later, makeStart: { 2 }) else { Issue.record("no restart while reaping"); return }
        m.reapFinished()
        #expect(m.stateName(idle: false) == "starting", "the new start keeps its phase")
    }

    @Test func aRemovedBackendRefusesEveryRequestAndIgnoresLateStarts() {
        var m = machine()
        _ = m.admit(now: 0, makeStart: { 1 })
        m.remove(reason: "removed from the configuration")
        let used = m.startSucceeded("late", now: 1)
        #expect(!used, "a start that finishes after the removal is not used")
        guard case .refused(let reason) = m.admit(now: 2, makeStart: { 2 }) else { Issue.record("not refused"); return }
        #expect(reason == "removed from the configuration")
        #expect(m.stateName(idle: false) == "removed")
    }

    @Test func anUnexpectedEndIsRecordedAndAClosedOneIsNot() {
        var m = machine()
        _ = m.admit(now: 0, makeStart: { 1 })
        m.startSucceeded("live", now: 0)
        m.connectionEnded("closed", now: 5, unexpected: false)
        #expect(m.lastError == nil)
        #expect(m.crashes == 0)
        _ = m.admit(now: 6, makeStart: { 2 })
        m.startSucceeded("live", now: 6)
        m.connectionEnded("exited with status 3", now: 9, unexpected: true)
        #expect(m.lastError?.message == "exited with status 3")
        #expect(m.crashes == 1)
        #expect(m.stateName(idle: true) == "stopped")
        #expect(m.uptime(now: 10) == nil)
    }
}
