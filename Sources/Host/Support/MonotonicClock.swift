#if canImport(Glibc)
import Glibc
#endif

/// The monotonic clock, in nanoseconds. Pure logic takes `now` as a parameter instead.
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
