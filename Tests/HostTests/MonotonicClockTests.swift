import Testing
@testable import Host

@Suite struct MonotonicClockTests {
    @Test func elapsedIsZeroWhenNowIsBeforeEarlier() {
        // The crash in issue 7: a session touched after the sweep read `now`.
        #expect(MonotonicClock.elapsed(from: 2_000, to: 1_000) == 0)
        #expect(MonotonicClock.elapsed(from: .max, to: 0) == 0)
        #expect(MonotonicClock.elapsed(from: 1_000, to: 3_500) == 2_500)
        #expect(MonotonicClock.elapsed(from: 0, to: .max) == .max)
        #expect(MonotonicClock.remaining(until: 10, now: 11) == 0)
        #expect(MonotonicClock.remaining(until: 11, now: 10) == 1)
    }

    @Test func deadlinesSaturateForAnyDuration() {
        let now: UInt64 = 5_000_000_000
        #expect(MonotonicClock.deadline(after: 1.5, from: now) == now + 1_500_000_000)
        #expect(MonotonicClock.deadline(after: 1e30, from: now) == .max)
        #expect(MonotonicClock.deadline(after: .infinity, from: now) == .max)
        #expect(MonotonicClock.deadline(after: .nan, from: now) == now)
        #expect(MonotonicClock.deadline(after: -3, from: now) == now)
        #expect(MonotonicClock.deadline(after: -.infinity, from: now) == now)
        #expect(MonotonicClock.deadline(after: 1, from: .max - 10) == .max)
        #expect(MonotonicClock.deadline(afterNanoseconds: 11, from: .max - 10) == .max)
        #expect(MonotonicClock.add(.max, .max) == .max)
    }

    @Test func conversionsSaturate() {
        #expect(MonotonicClock.nanoseconds(seconds: 2) == 2_000_000_000)
        #expect(MonotonicClock.nanoseconds(seconds: 0.000_001) == 1_000)
        #expect(MonotonicClock.nanoseconds(seconds: 1e30) == .max)
        #expect(MonotonicClock.nanoseconds(seconds: 18_446_744_073.709_553) == .max) // just past 2^64 ns
        #expect(MonotonicClock.nanoseconds(seconds: .infinity) == .max)
        #expect(MonotonicClock.nanoseconds(seconds: .nan) == 0)
        #expect(MonotonicClock.nanoseconds(seconds: -1) == 0)
        #expect(MonotonicClock.nanoseconds(seconds: -.infinity) == 0)
        #expect(MonotonicClock.nanoseconds(seconds: -0.0) == 0)
        #expect(MonotonicClock.int64Nanoseconds(seconds: 1e30) == .max)
        #expect(MonotonicClock.int64Nanoseconds(seconds: 1) == 1_000_000_000)
        #expect(MonotonicClock.milliseconds(seconds: 1e30) == .max)
        #expect(MonotonicClock.milliseconds(seconds: .nan) == 0)
        #expect(MonotonicClock.milliseconds(seconds: 0.25) == 250)
        #expect(MonotonicClock.nanoseconds(milliseconds: .max) == .max)
        #expect(MonotonicClock.nanoseconds(milliseconds: 3) == 3_000_000)
        #expect(MonotonicClock.int64(.max) == .max)
        #expect(MonotonicClock.int64(7) == 7)
        #expect(MonotonicClock.wholeSecondsRoundedUp(nanoseconds: 0) == 0)
        #expect(MonotonicClock.wholeSecondsRoundedUp(nanoseconds: 1) == 1)
        #expect(MonotonicClock.wholeSecondsRoundedUp(nanoseconds: 2_000_000_000) == 2)
        #expect(MonotonicClock.wholeSecondsRoundedUp(nanoseconds: .max) == 18_446_744_074)
        #expect(MonotonicClock.saturatingUInt64(18_446_744_073_709_551_616.0) == .max)
        #expect(MonotonicClock.saturatingUInt64(18_446_744_073_709_549_568.0) == 18_446_744_073_709_549_568)
    }

    @Test func theClockMovesForward() {
        let a = MonotonicClock.nanoseconds()
        let b = MonotonicClock.nanoseconds()
        #expect(b >= a)
        #expect(a > 0)
    }
}
