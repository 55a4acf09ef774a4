import Locking
import Synchronization

/// A value that is set once and awaited by any number of tasks. The first `resolve` wins; later
/// ones are ignored, which makes "response vs. timeout vs. backend exit" races exactly-once.
public final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [CheckedContinuation<Value, Never>] = []
        var timer: Task<Void, Never>?
    }

    private let state = Locked(State())

    public init() {}

    /// Sets the value if it is not set yet; returns whether this call set it.
    @discardableResult
    public func resolve(_ value: Value) -> Bool {
        var waiters: [CheckedContinuation<Value, Never>] = []
        var timer: Task<Void, Never>?
        let first = state.withLock { state -> Bool in
            guard state.value == nil else { return false }
            state.value = value
            waiters = state.waiters
            timer = state.timer
            state.waiters = []
            state.timer = nil
            return true
        }
        guard first else { return false }
        timer?.cancel()
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    public var isResolved: Bool { state.withLock { $0.value != nil } }

    /// Waits for the value.
    public func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready: Value? = state.withLock { state in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits for the value, resolving it with `fallback` if nobody did within `seconds`.
    public func value(timeout seconds: Double, orElse fallback: @autoclosure @escaping @Sendable () -> Value) async -> Value {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: .nanoseconds(MonotonicClock.int64Nanoseconds(seconds: seconds)))
            if !Task.isCancelled { self?.resolve(fallback()) }
        }
        let installed = state.withLock { state -> Bool in
            guard state.value == nil else { return false }
            state.timer?.cancel()
            state.timer = timer
            return true
        }
        if !installed { timer.cancel() }
        return await value()
    }
}
