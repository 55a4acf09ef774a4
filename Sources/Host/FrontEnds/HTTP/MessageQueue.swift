import Locking
import Synchronization

/// A bounded queue of outgoing messages for one SSE stream: producers (the core, on any thread)
/// never block; one consumer (the stream's writer) awaits.
///
/// Bound: past `limit` messages the queue is *over* (and remembers since when): the session is
/// evicted by the session sweeper if it stays over for the eviction delay. Past `4 × limit` new
/// messages are dropped (counted) until the eviction happens, so memory stays bounded.
/// `pushWithinLimit` refuses at `limit` instead (a POST stream, which is not evicted), and
/// `pushFinal` is never refused for the bound (a request's response, the last message of a POST
/// stream: at most one per stream, so memory stays bounded).
final class MessageQueue: Sendable {
    private struct State {
        var items: [[UInt8]] = []
        var head = 0
        var waiter: CheckedContinuation<[UInt8]?, Never>?
        var closed = false
        var overSince: UInt64?
        var dropped = 0
        var count: Int { items.count - head }
    }

    let limit: Int
    private let state = Locked(State())

    init(limit: Int) { self.limit = limit }

    /// Queues a message; false if the queue is closed or hopelessly full (message dropped).
    @discardableResult
    func push(_ message: [UInt8], now: UInt64 = MonotonicClock.nanoseconds()) -> Bool {
        push(message, bound: limit.multipliedReportingOverflow(by: 4).overflow ? Int.max : limit * 4, now: now)
    }

    /// Queues a message unless `limit` messages are queued already; false if refused (dropped).
    func pushWithinLimit(_ message: [UInt8], now: UInt64 = MonotonicClock.nanoseconds()) -> Bool {
        push(message, bound: limit, now: now)
    }

    /// Queues a message whatever the bound (a response that must not be lost); false only if the
    /// queue is closed.
    @discardableResult
    func pushFinal(_ message: [UInt8], now: UInt64 = MonotonicClock.nanoseconds()) -> Bool {
        push(message, bound: Int.max, now: now)
    }

    private func push(_ message: [UInt8], bound: Int, now: UInt64) -> Bool {
        enum Outcome { case handOver(CheckedContinuation<[UInt8]?, Never>), queued, refused }
        let outcome: Outcome = state.withLock { state in
            if state.closed { return .refused }
            if let waiter = state.waiter {
                state.waiter = nil
                return .handOver(waiter)
            }
            if state.count >= bound {
                state.dropped += 1
                return .refused
            }
            state.items.append(message)
            if state.count > limit, state.overSince == nil { state.overSince = now }
            return .queued
        }
        switch outcome {
        case .handOver(let waiter):
            waiter.resume(returning: message)
            return true
        case .queued: return true
        case .refused: return false
        }
    }

    /// Queues a message only if the queue is empty (keep-alive pings must never pile up).
    func pushIfIdle(_ message: [UInt8]) {
        let idle = state.withLock { $0.count == 0 && !$0.closed }
        if idle { push(message) }
    }

    /// The next message, or nil once the queue is closed and drained.
    func next() async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            let ready: [UInt8]?? = state.withLock { state in
                if state.count > 0 {
                    let item = state.items[state.head]
                    state.head += 1
                    if state.head > 64 && state.head * 2 > state.items.count {
                        state.items.removeFirst(state.head)
                        state.head = 0
                    }
                    if state.count <= limit { state.overSince = nil }
                    return .some(item)
                }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Ends the queue: the consumer gets what is queued, then nil.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Since when the queue has been over its limit (nil when it is not).
    var overSince: UInt64? { state.withLock { $0.overSince } }
    var count: Int { state.withLock { $0.count } }
    var isClosed: Bool { state.withLock { $0.closed } }
    /// Messages refused for the bound so far.
    var droppedCount: Int { state.withLock { $0.dropped } }
}
