/// When a host serving a socket has been without clients long enough to exit
/// (`--exit-when-idle`). Pure: the caller passes the client count and the clock.
///
/// The wait starts when the host starts or its last client leaves; any client arriving (even one
/// that comes and goes between two looks) starts it again.
struct IdleWatch: Sendable, Equatable {
    /// How long without clients before the host exits, in nanoseconds.
    let limit: UInt64
    /// Since when there has been no client; nil while there is one.
    private(set) var idleSince: UInt64?

    init(limit seconds: Double, now: UInt64) {
        limit = MonotonicClock.nanoseconds(seconds: seconds)
        idleSince = now
    }

    /// A client connected or left: the wait (if any) starts again from `now`.
    mutating func activity(now: UInt64) {
        if idleSince != nil { idleSince = now }
    }

    /// Looks at the clients now; true when the host has had none for `limit`.
    mutating func due(clients: Int, now: UInt64) -> Bool {
        guard clients == 0 else {
            idleSince = nil
            return false
        }
        let since = idleSince ?? now
        idleSince = since
        return MonotonicClock.elapsed(from: since, to: now) >= limit
    }
}
