import Dispatch
import Locking

/// Every task of one connection: so that `close` can cancel them all and `destroy` can wait until
/// none is left (after which nothing of the connection runs).
final class TaskTracker: Sendable {
    private struct State {
        var next = 0
        var running: [Int: Task<Void, Never>] = [:]
        var cancelled = false
    }
    private let state = Locked(State())
    private let group = DispatchGroup()

    /// Starts `body` as a task. A cancellable task started after `cancelAll` starts cancelled.
    @discardableResult
    func spawn(cancellable: Bool = true, _ body: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        group.enter()
        return state.withLock { s in
            let key = s.next
            s.next += 1
            let task = Task { [self] in
                await body()
                state.withLock { _ = $0.running.removeValue(forKey: key) }
                group.leave()
            }
            if cancellable {
                if s.cancelled { task.cancel() } else { s.running[key] = task }
            }
            return task
        }
    }

    /// Cancels every cancellable task, now and later.
    func cancelAll() {
        let tasks = state.withLock { s in
            s.cancelled = true
            let all = Array(s.running.values)
            s.running = [:]
            return all
        }
        for task in tasks { task.cancel() }
    }

    /// Waits (blocking) until every task has ended, at most `seconds`; true when they all did.
    func waitForAll(seconds: Double) -> Bool {
        group.wait(timeout: .now() + .milliseconds(Int(min(max(seconds, 0), 3600) * 1000))) == .success
    }
}
