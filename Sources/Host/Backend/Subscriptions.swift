import Locking

/// The resource subscriptions of one backend: which client sessions are subscribed to which URI,
/// and the backend's own subscription, which the host holds once per URI however many clients
/// subscribe (subscribed for the first subscriber, unsubscribed after the last).
///
/// The backend's subscribe and unsubscribe for one URI run one at a time, in the order the host
/// decided them: each is chained after the previous operation on that URI. Without that, an
/// unsubscribe (the last client left) could overtake the subscribe sent for the first client
/// that just joined, and leave the backend unsubscribed while the host believes otherwise, or
/// the reverse. Every subscriber waits for the outcome of the subscribe it joined, so a refusal
/// reaches each of them and none stays recorded for a subscription the backend does not hold.
///
/// The backend operations are closures, so this type has no I/O of its own and is unit-tested
/// without a process.
final class Subscriptions: Sendable {
    /// What the backend made of an operation.
    enum Outcome: Sendable {
        /// Subscribed; the backend's result object, for the first subscriber's answer.
        case subscribed(result: [UInt8])
        /// The backend answered the subscribe with an error object (passed to the subscribers).
        case refused(error: [UInt8])
        /// The subscribe could not be done (backend gone, deadline).
        case failed(BackendError)
        /// Unsubscribed (or never subscribed).
        case unsubscribed

        var isSubscribed: Bool {
            if case .subscribed = self { return true }
            return false
        }
    }

    private struct Entry {
        var subscribers: Set<UInt64> = []
        /// The last backend operation on this URI, and its serial number.
        var tail: Task<Outcome, Never>?
        var serial: UInt64 = 0
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var serial: UInt64 = 0
    }

    private let state = Locked(State())

    /// (URI, session) pairs held.
    var count: Int { state.withLock { $0.entries.values.reduce(0) { $0 + $1.subscribers.count } } }

    /// The sessions subscribed to `uri`.
    func subscribers(of uri: String) -> Set<UInt64> { state.withLock { $0.entries[uri]?.subscribers ?? [] } }

    /// The URIs with at least one subscriber.
    var uris: [String] { state.withLock { $0.entries.filter { !$0.value.subscribers.isEmpty }.map(\.key) } }

    /// Adds `session` as a subscriber of `uri`. The first subscriber makes `subscribe` run, after
    /// any earlier operation on the URI; every subscriber gets the outcome of the subscribe it
    /// joined to await. `first` tells whether this call started it (its caller answers with the
    /// backend's own answer; later subscribers get `{}`). A subscriber whose outcome is not
    /// `.subscribed` must `remove` itself.
    func join(_ uri: String, session: UInt64, subscribe: @escaping @Sendable () async -> Outcome) -> (first: Bool, outcome: Task<Outcome, Never>) {
        state.withLock { state in
            var entry = state.entries[uri] ?? Entry()
            let first = entry.subscribers.isEmpty
            entry.subscribers.insert(session)
            if !first, let tail = entry.tail {
                state.entries[uri] = entry
                return (false, tail)
            }
            let previous = entry.tail
            let task = Task { () -> Outcome in
                if let previous { _ = await previous.value }
                return await subscribe()
            }
            state.serial &+= 1
            entry.tail = task
            entry.serial = state.serial
            state.entries[uri] = entry
            return (first, task)
        }
    }

    /// Removes `session` from `uri`. When it was the last subscriber, `unsubscribe` runs after any
    /// earlier operation on the URI, if that left the backend subscribed.
    func leave(_ uri: String, session: UInt64, unsubscribe: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            guard var entry = state.entries[uri], entry.subscribers.remove(session) != nil else { return }
            guard entry.subscribers.isEmpty else {
                state.entries[uri] = entry
                return
            }
            state.serial &+= 1
            let serial = state.serial
            let previous = entry.tail
            entry.tail = Task { () -> Outcome in
                if await previous?.value.isSubscribed ?? false { await unsubscribe() }
                self.forget(uri, serial: serial)
                return .unsubscribed
            }
            entry.serial = serial
            state.entries[uri] = entry
        }
    }

    /// Removes `session` without touching the backend: the subscribe it joined (`outcome`, from
    /// `join`) was refused or failed. An entry left with no subscriber and no later operation is
    /// dropped, so refused URIs do not pile up.
    func remove(_ uri: String, session: UInt64, joined outcome: Task<Outcome, Never>) {
        state.withLock { state in
            guard var entry = state.entries[uri] else { return }
            entry.subscribers.remove(session)
            state.entries[uri] = entry.subscribers.isEmpty && entry.tail == outcome ? nil : entry
        }
    }

    /// Every URI `session` is subscribed to (it ended).
    func uris(of session: UInt64) -> [String] {
        state.withLock { $0.entries.filter { $0.value.subscribers.contains(session) }.map(\.key) }
    }

    /// Subscribes a restarted backend again to `uri` (it has forgotten), in turn with the rest.
    func resubscribe(_ uri: String, subscribe: @escaping @Sendable () async -> Outcome) {
        state.withLock { state in
            guard var entry = state.entries[uri], !entry.subscribers.isEmpty else { return }
            let previous = entry.tail
            state.serial &+= 1
            entry.tail = Task { () -> Outcome in
                if let previous { _ = await previous.value }
                return await subscribe()
            }
            entry.serial = state.serial
            state.entries[uri] = entry
        }
    }

    /// Drops an entry nobody subscribes to once its last operation is done.
    private func forget(_ uri: String, serial: UInt64) {
        state.withLock { state in
            if let entry = state.entries[uri], entry.serial == serial, entry.subscribers.isEmpty {
                state.entries[uri] = nil
            }
        }
    }
}
