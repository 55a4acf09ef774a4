/// Reconnection delays for SSE streams: the server's `retry` (or 1 s) first, doubling per failed
/// attempt, capped. Saturating: no input makes it trap or overflow.
public enum Backoff {
    public static let defaultRetryMs = 1000

    /// Milliseconds to wait before attempt number `attempt` (0 = the first reconnection).
    public static func delayMs(attempt: Int, retryMs: Int?, capMs: Int) -> Int {
        let cap = max(0, capMs)
        var delay = min(max(0, retryMs ?? defaultRetryMs), cap)
        var step = 0
        while step < max(0, attempt), delay < cap {
            delay = delay > cap / 2 ? cap : max(delay * 2, 1)
            step += 1
        }
        return min(delay, cap)
    }
}
