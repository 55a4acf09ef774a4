import Locking

/// Remembers the router chain's answer for a name the catalog does not know (a call made before
/// any list, the common case for scripts), so the chain's `route` and `expose` (two plugin calls,
/// each with its buffers) run once per name, not once per request.
///
/// Sound because a router is a pure function of its settings (the ABI's rule for `route` and
/// `expose`): the memo is emptied whenever that can change, by `invalidate()` (a reload, a router
/// that took new settings). Per-caller access (`allow`) is never remembered: it is asked on every
/// request. An answer computed across an invalidation is not stored (`generation`).
///
/// Keyed by method, kind and name: a router is given the method and may answer differently for
/// `prompts/get` and `completion/complete` of one prompt.
///
/// Bound: at most `limit` names, each of at most `nameLimit` bytes (a longer name, like any name
/// past the bound, is simply asked of the chain each time; tool names are at most 128 characters),
/// so the memo holds at most about 4096 × 3 × 256 bytes; at the bound it is emptied and fills
/// again (a client naming endless distinct items costs only the chain's calls, as without a memo).
final class RouteMemo: Sendable {
    struct Answer: Sendable {
        /// The backend the chain forwards to.
        let backend: String
        /// The name the backend knows the item by.
        let original: String
        /// The name the chain exposes that item under (may differ from the name asked for).
        let exposed: String
    }

    private struct Key: Hashable {
        let method: String
        let kind: ItemKind
        let name: String
    }

    private struct State {
        var generation: UInt64 = 0
        var answers: [Key: Answer] = [:]
    }

    static let limit = 4096
    static let nameLimit = 256
    private let state = Locked(State())

    /// Read before asking the chain; pass it to `remember`.
    var generation: UInt64 { state.withLock { $0.generation } }

    func lookup(_ method: String, _ kind: ItemKind, _ name: String) -> Answer? {
        guard name.utf8.count <= Self.nameLimit else { return nil }
        return state.withLock { $0.answers[Key(method: method, kind: kind, name: name)] }
    }

    /// Stores the chain's answer, unless the memo was invalidated since `generation` was read or
    /// a name is longer than `nameLimit`.
    func remember(_ answer: Answer, for method: String, _ kind: ItemKind, _ name: String, generation: UInt64) {
        guard [name, answer.original, answer.exposed, answer.backend].allSatisfy({ $0.utf8.count <= Self.nameLimit }),
              method.utf8.count <= Self.nameLimit else { return }
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.answers.count >= Self.limit { state.answers.removeAll(keepingCapacity: true) }
            state.answers[Key(method: method, kind: kind, name: name)] = answer
        }
    }

    /// How many answers are remembered (for tests).
    var count: Int { state.withLock { $0.answers.count } }

    /// Forgets every answer (the chain's settings or the set of backends changed).
    func invalidate() {
        state.withLock { state in
            state.generation &+= 1
            state.answers.removeAll()
        }
    }
}
