import Locking

/// A value set once and awaited by any number of tasks. The first `fulfil` wins; later ones are
/// ignored (and say so).
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [CheckedContinuation<Value, Never>] = []
    }
    private let state = Locked(State())

    /// Sets the value; false when it was set already.
    @discardableResult
    func fulfil(_ value: Value) -> Bool {
        let waiters: [CheckedContinuation<Value, Never>]? = state.withLock { s in
            guard s.value == nil else { return nil }
            s.value = value
            let w = s.waiters
            s.waiters = []
            return w
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready: Value? = state.withLock { s in
                    if let value = s.value { return value }
                    s.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
