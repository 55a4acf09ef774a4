import Testing
@testable import Host

/// The idle timeout without processes, on an injected clock (nanoseconds).
struct IdlePolicyTests {
    let second: UInt64 = 1_000_000_000

    func stats(requests: Int, endingAt now: UInt64, every gap: UInt64) -> UsageStats {
        var stats = UsageStats()
        for i in 0..<requests { stats.recordRequest(now: now - UInt64(requests - 1 - i) * gap) }
        return stats
    }

    @Test func adaptiveTiersFollowTheLastHoursRequests() {
        let now = 10_000 * second
        let policy = IdleTimeout.default
        #expect(stats(requests: 25, endingAt: now, every: 60 * second).idleTimeout(policy, now: now).seconds == 300)
        #expect(stats(requests: 10, endingAt: now, every: 60 * second).idleTimeout(policy, now: now).seconds == 180)
        #expect(stats(requests: 3, endingAt: now, every: 60 * second).idleTimeout(policy, now: now).seconds == 60)
        // The boundaries: more than 20 is busy, 5 to 20 moderate, fewer than 5 quiet.
        #expect(stats(requests: 21, endingAt: now, every: 60 * second).idleTimeout(policy, now: now).seconds == 300)
        #expect(stats(requests: 20, endingAt: now, every: 60 * second).idleTimeout(policy, now: now).seconds == 180)
        #expect(stats(requests: 5, endingAt: now, every: 60 * second).idleTimeout(policy, now: now).seconds == 180)
        #expect(stats(requests: 4, endingAt: now, every: 60 * second).idleTimeout(policy, now: now).seconds == 60)
        // Requests older than an hour do not count.
        #expect(stats(requests: 25, endingAt: now - 3700 * second, every: second).idleTimeout(policy, now: now).seconds == 60)
    }

    @Test func adaptiveIsClampedAndNeverServedWaitsForTheMax() {
        let now = 10_000 * second
        #expect(stats(requests: 3, endingAt: now, every: second).idleTimeout(.adaptive(min: 120, max: 240), now: now).seconds == 120)
        #expect(stats(requests: 30, endingAt: now, every: second).idleTimeout(.adaptive(min: 60, max: 240), now: now).seconds == 240)
        let fresh = UsageStats()
        #expect(fresh.idleTimeout(.default, now: now) == (300, "warm-up"))
        #expect(!fresh.isDue(.default, idleSince: now - 299 * second, now: now))
        #expect(fresh.isDue(.default, idleSince: now - 300 * second, now: now))
    }

    @Test func fixedAndNever() {
        let now = 10_000 * second
        let used = stats(requests: 1, endingAt: now, every: second)
        #expect(used.isDue(.fixed(2), idleSince: now - 2 * second, now: now))
        #expect(!used.isDue(.fixed(2), idleSince: now - second, now: now))
        #expect(!used.isDue(.never, idleSince: 0, now: now))
        // A reading taken after `now` (another thread) is not idle time and does not trap.
        #expect(!used.isDue(.fixed(2), idleSince: now + second, now: now))
    }
}
