import Locking

/// The resource subscriptions of one backend: which client sessions are subscribed to which URI,
/// and the backend's own subscription, which the host holds once per URI however many clients
/// subscribe.
///
/// For each URI one worker at a time moves the backend toward what the host wants: subscribed
/// while anyone subscribes, unsubscribed when nobody does. Joins and leaves only change what is
/// wanted and wake the worker, so operations for one URI never overtake each other, a client
/// flipping between subscribe and unsubscribe cannot queue up work, and the worker ends when the
/// backend's state matches. A subscribe is tried when a client is waiting for one (or after the
/// backend restarted and has forgotten); its outcome reaches every client waiting for it, and a
/// refused or failed subscribe leaves none of them recorded.
///
/// The backend operations are closures, so this type has no I/O of its own and is unit-tested
/// without a process.
final class Subscriptions: Sendable {
    /// What the backend made of a subscribe.
    enum Outcome: Sendable {
        /// Subscribed; the backend's result object.
        case subscribed(result: [UInt8])
        /// The backend answered with an error object (passed to the waiting clients).
        case refused(error: [UInt8])
        /// The subscribe could not be done (backend gone, timed out, client gone).
        case failed(BackendError)

        var isSubscribed: Bool {
            if case .subscribed = self { return true }
            return false
        }
    }

    /// The backend operations for a URI.
    struct Operations: Sendable {
        let subscribe: @Sendable (String) async -> Outcome
        let unsubscribe: @Sendable (String) async -> Void
        /// Told when a resubscribe after a restart failed (the subscribers stay recorded).
        let resubscribeFailed: @Sendable (String, Outcome) -> Void
    }

    private struct Waiter {
        let session: UInt64
        let outcome: OneShot<Outcome>
    }

    private struct Entry {
        var subscribers: Set<UInt64> = []
        /// Subscribers whose subscribe waits for the backend's answer.
        var waiters: [Waiter] = []
        /// The backend holds the subscription (as far as the host knows).
        var subscribed = false
        /// A subscribe failed in a way that leaves it unknown whether the backend took it (timed
        /// out, connection lost): unsubscribe once nobody subscribes, to be sure.
        var maybeSubscribed = false
        /// The backend restarted and must be subscribed again for the recorded subscribers.
        var resubscribe = false
        /// A worker runs for this URI.
        var working = false

        enum Step { case subscribe, unsubscribe, done }

        var next: Step {
            if !subscribers.isEmpty && !subscribed && (!waiters.isEmpty || resubscribe) { return .subscribe }
            if subscribers.isEmpty && (subscribed || maybeSubscribed) { return .unsubscribe }
            return .done
        }
    }

    private let state = Locked<[String: Entry]>([:])

    /// (URI, session) pairs held.
    var count: Int { state.withLock { $0.values.reduce(0) { $0 + $1.subscribers.count } } }

    /// URIs with any state (subscribers, a worker, or a backend subscription): 0 when idle.
    var entryCount: Int { state.withLock { $0.count } }

    /// The sessions subscribed to `uri`.
    func subscribers(of uri: String) -> Set<UInt64> { state.withLock { $0[uri]?.subscribers ?? [] } }

    /// Every URI `session` is subscribed to.
    func uris(of session: UInt64) -> [String] {
        state.withLock { $0.filter { $0.value.subscribers.contains(session) }.map(\.key) }
    }

    /// Records `session` as a subscriber of `uri`. Nil when the backend already holds the
    /// subscription (answer at once); otherwise the outcome to await (bounded by the caller's
    /// deadline: on timeout, `abandon`).
    func join(_ uri: String, session: UInt64, _ operations: Operations) -> OneShot<Outcome>? {
        let (waiter, start) = state.withLock { state -> (OneShot<Outcome>?, Bool) in
            var entry = state[uri] ?? Entry()
            entry.subscribers.insert(session)
            if entry.subscribed && !entry.working {
                state[uri] = entry
                return (nil, false)
            }
            let outcome = OneShot<Outcome>()
            entry.waiters.append(Waiter(session: session, outcome: outcome))
            let start = Self.claimWorker(&entry)
            state[uri] = entry
            return (outcome, start)
        }
        if start { startWorker(uri, operations) }
        return waiter
    }

    /// Removes `session` from `uri` (it unsubscribed or ended); a subscribe it still waits for
    /// is answered as failed.
    func leave(_ uri: String, session: UInt64, _ operations: Operations) {
        var dropped: [OneShot<Outcome>] = []
        let start = state.withLock { state -> Bool in
            guard var entry = state[uri] else { return false }
            entry.subscribers.remove(session)
            dropped = entry.waiters.filter { $0.session == session }.map(\.outcome)
            entry.waiters.removeAll { $0.session == session }
            let start = Self.claimWorker(&entry)
            Self.store(entry, uri, in: &state)
            return start
        }
        for outcome in dropped { outcome.resolve(.failed(.cancelled("the client unsubscribed or its session ended"))) }
        if start { startWorker(uri, operations) }
    }

    /// The backend restarted (it holds no subscription): subscribe it again for every URI that
    /// still has subscribers.
    func restarted(_ operations: Operations) {
        let uris = state.withLock { state -> [String] in
            var start: [String] = []
            for uri in Array(state.keys) {
                guard var entry = state[uri] else { continue }
                entry.subscribed = false
                entry.maybeSubscribed = false
                entry.resubscribe = !entry.subscribers.isEmpty
                if Self.claimWorker(&entry) { start.append(uri) }
                Self.store(entry, uri, in: &state)
            }
            return start
        }
        for uri in uris { startWorker(uri, operations) }
    }

    // MARK: - The worker

    private static func claimWorker(_ entry: inout Entry) -> Bool {
        guard !entry.working, entry.next != .done else { return false }
        entry.working = true
        return true
    }

    private static func store(_ entry: Entry, _ uri: String, in state: inout [String: Entry]) {
        let idle = entry.subscribers.isEmpty && entry.waiters.isEmpty && !entry.subscribed && !entry.maybeSubscribed && !entry.working
        state[uri] = idle ? nil : entry
    }

    private func startWorker(_ uri: String, _ operations: Operations) {
        Task { await self.work(uri, operations) }
    }

    private func work(_ uri: String, _ operations: Operations) async {
        while true {
            let step = state.withLock { state -> Entry.Step in
                guard var entry = state[uri] else { return .done }
                let step = entry.next
                if step == .done {
                    entry.working = false
                    Self.store(entry, uri, in: &state)
                }
                return step
            }
            switch step {
            case .done:
                return
            case .unsubscribe:
                await operations.unsubscribe(uri)
                state.withLock { state in
                    state[uri]?.subscribed = false
                    state[uri]?.maybeSubscribed = false
                }
            case .subscribe:
                let outcome = await operations.subscribe(uri)
                let (answered, wasResubscribe) = state.withLock { state -> ([OneShot<Outcome>], Bool) in
                    guard var entry = state[uri] else { return ([], false) }
                    let answered = entry.waiters.map(\.outcome)
                    let wasResubscribe = entry.resubscribe && entry.waiters.isEmpty
                    if outcome.isSubscribed {
                        entry.subscribed = true
                    } else {
                        if case .failed = outcome { entry.maybeSubscribed = true }
                        // Nobody is recorded for a subscription the backend does not hold.
                        for waiter in entry.waiters { entry.subscribers.remove(waiter.session) }
                    }
                    entry.waiters = []
                    entry.resubscribe = false
                    state[uri] = entry
                    return (answered, wasResubscribe)
                }
                for waiter in answered { waiter.resolve(outcome) }
                if wasResubscribe && !outcome.isSubscribed { operations.resubscribeFailed(uri, outcome) }
            }
        }
    }
}
