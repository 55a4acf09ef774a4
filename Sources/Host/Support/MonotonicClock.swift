#if canImport(Glibc)
import Glibc
#endif

/// The monotonic clock, in nanoseconds. Pure logic takes `now` as a parameter instead.
///
/// Clock arithmetic never traps. Two readings are not ordered just because one was taken "later" in
/// the source (another thread may store a newer reading between them), and durations come from
/// users, so every difference, sum and conversion here saturates:
/// - a difference with `now < earlier` is 0 (nothing has elapsed yet);
/// - a deadline or sum past `UInt64.max` is `UInt64.max` (about 584 years: never);
/// - a duration in seconds that is NaN, negative or zero converts to 0, one too large converts to
///   the largest representable value.
/// Use these instead of `-`, `+` and `UInt64(seconds * 1e9)` on clock readings.
public enum MonotonicClock {
    public static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    /// Now, in nanoseconds since an arbitrary fixed point (boot).
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        // tv_sec and tv_nsec are never negative for CLOCK_MONOTONIC; clamp anyway rather than trap.
        let seconds = UInt64(clamping: ts.tv_sec)
        let fraction = UInt64(clamping: ts.tv_nsec)
        return add(multiplySaturating(seconds, nanosecondsPerSecond), fraction)
    }

    // MARK: Differences and sums

    /// `now - earlier`, or 0 when `now` is before `earlier` (a reading taken by another thread
    /// after `now` was read).
    @inline(__always)
    public static func elapsed(from earlier: UInt64, to now: UInt64) -> UInt64 {
        now >= earlier ? now - earlier : 0
    }

    /// Nanoseconds left until `deadline`, or 0 when it has passed.
    @inline(__always)
    public static func remaining(until deadline: UInt64, now: UInt64) -> UInt64 {
        elapsed(from: now, to: deadline)
    }

    /// `a + b`, or `UInt64.max` when that does not fit.
    @inline(__always)
    public static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    /// `now + seconds`, saturating (NaN, negative or zero seconds: `now`; too large: `UInt64.max`).
    public static func deadline(after seconds: Double, from now: UInt64) -> UInt64 {
        add(now, nanoseconds(seconds: seconds))
    }

    /// `now + nanoseconds`, saturating at `UInt64.max`.
    public static func deadline(afterNanoseconds nanoseconds: UInt64, from now: UInt64) -> UInt64 {
        add(now, nanoseconds)
    }

    // MARK: Conversions

    /// Seconds as nanoseconds: NaN, negative and zero give 0; too large (or infinity) gives
    /// `UInt64.max`.
    public static func nanoseconds(seconds: Double) -> UInt64 {
        saturatingUInt64(seconds * 1e9)
    }

    /// Seconds as nanoseconds in an `Int64` (NIO's `TimeAmount`, `Duration`): as
    /// `nanoseconds(seconds:)`, capped at `Int64.max`.
    public static func int64Nanoseconds(seconds: Double) -> Int64 {
        Int64(clamping: nanoseconds(seconds: seconds))
    }

    /// Seconds as whole milliseconds, saturating as `nanoseconds(seconds:)` (capped at `Int64.max`).
    public static func milliseconds(seconds: Double) -> Int64 {
        Int64(clamping: saturatingUInt64(seconds * 1e3))
    }

    /// Milliseconds as nanoseconds, saturating.
    public static func nanoseconds(milliseconds: UInt64) -> UInt64 {
        multiplySaturating(milliseconds, 1_000_000)
    }

    /// Nanoseconds as an `Int64` (for `Duration.nanoseconds`, metrics), capped at `Int64.max`.
    @inline(__always)
    public static func int64(_ nanoseconds: UInt64) -> Int64 {
        Int64(clamping: nanoseconds)
    }

    /// Nanoseconds as seconds (for messages and metrics; never traps).
    public static func seconds(nanoseconds: UInt64) -> Double {
        Double(nanoseconds) / 1e9
    }

    /// Whole seconds, rounded up, as an `Int` (e.g. "retry in N s"); never traps.
    public static func wholeSecondsRoundedUp(nanoseconds: UInt64) -> Int {
        let (quotient, remainder) = nanoseconds.quotientAndRemainder(dividingBy: nanosecondsPerSecond)
        return Int(clamping: remainder == 0 ? quotient : quotient + 1)
    }

    /// A Double as a UInt64: NaN and values <= 0 give 0, values >= 2^64 (and +infinity) give
    /// `UInt64.max`; anything else truncates toward zero.
    public static func saturatingUInt64(_ value: Double) -> UInt64 {
        guard value.isFinite || value == .infinity else { return 0 } // NaN, -infinity
        if !(value > 0) { return 0 }
        // 2^64 is exactly representable; UInt64(x) traps for x >= 2^64.
        if value >= 18_446_744_073_709_551_616.0 { return .max }
        return UInt64(value)
    }

    @inline(__always)
    static func multiplySaturating(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? .max : product
    }
}
