import Locking
import Synchronization

/// The aggregated catalog: for each kind and backend, the items as clients see them (already
/// renamed, as JSON bytes) and the map from exposed names back to the backend's own names.
///
/// Name collisions: when two backends expose the same name (two `a__x` from different routers'
/// rules, or the same resource URI, which is never prefixed), the backend first in the host's
/// order (server names sorted) owns it: only its item is listed and calls go to it; the other's
/// item is hidden (and logged) until the owner stops listing it.
///
/// Staleness: each (kind, backend) has a generation that `invalidate` (a backend's
/// `list_changed`) advances. A fetch records the generation it started at and `store` clears the
/// stale mark only if no `list_changed` arrived meanwhile, so a change during a fetch is not lost.
public final class Catalog: Sendable {
    public struct Items: Sendable {
        /// Each item's JSON object, renamed and with its description prefixed.
        public var elements: [[UInt8]]
        /// Exposed name -> the backend's name.
        public var names: [String: String]
        /// The exposed name of each element, in the same order as `elements`.
        public var exposed: [String]

        public init(elements: [[UInt8]] = [], names: [String: String] = [:], exposed: [String] = []) {
            self.elements = elements
            self.names = names
            self.exposed = exposed
        }
    }

    private struct Key: Hashable {
        let kind: ItemKind
        let backend: String
    }

    private struct State {
        var items: [Key: Items] = [:]
        /// Exposed name -> (backend, original) per kind, rebuilt when a backend's items change.
        var index: [ItemKind: [String: (backend: String, name: String)]] = [:]
        var stale: Set<Key> = []
        var generation: [Key: UInt64] = [:]
        /// Per kind, the (backend, exposed name) pairs hidden by a collision, for logging changes.
        var hidden: [ItemKind: Set<Hidden>] = [:]
    }

    /// An item hidden because an earlier backend (in the host's order) exposes the same name.
    public struct Hidden: Hashable, Sendable, Comparable {
        public let backend: String
        public let name: String
        public static func < (a: Hidden, b: Hidden) -> Bool { (a.backend, a.name) < (b.backend, b.name) }
    }

    private let state = Locked(State())

    public init() {}

    /// The items of a backend, when known and not invalidated since.
    public func items(_ kind: ItemKind, of backend: String) -> Items? {
        state.withLock { $0.stale.contains(Key(kind: kind, backend: backend)) ? nil : $0.items[Key(kind: kind, backend: backend)] }
    }

    /// The items of a backend even if invalidated (for serving a list while a refresh is slow).
    public func lastKnownItems(_ kind: ItemKind, of backend: String) -> Items? {
        state.withLock { $0.items[Key(kind: kind, backend: backend)] }
    }

    /// The generation of a backend's list: read it before fetching, pass it to `store`.
    public func generation(_ kind: ItemKind, of backend: String) -> UInt64 {
        state.withLock { $0.generation[Key(kind: kind, backend: backend)] ?? 0 }
    }

    /// Stores a backend's items fetched at `generation` (nil: unconditionally fresh); returns the
    /// items newly hidden by a collision, whichever backend they belong to (the first backend in
    /// `order` keeps a colliding name). If the list changed since the fetch began, the items are
    /// kept for serving but stay stale, so the next list fetches again.
    @discardableResult
    public func store(_ kind: ItemKind, backend: String, items: Items, order: [String], generation: UInt64? = nil) -> [Hidden] {
        state.withLock { state in
            let key = Key(kind: kind, backend: backend)
            state.items[key] = items
            if generation == nil || generation == (state.generation[key] ?? 0) { state.stale.remove(key) }
            var index: [String: (backend: String, name: String)] = [:]
            var hidden = Set<Hidden>()
            for name in order {
                guard let entry = state.items[Key(kind: kind, backend: name)] else { continue }
                for (exposed, original) in entry.names {
                    if index[exposed] != nil {
                        hidden.insert(Hidden(backend: name, name: exposed))
                        continue
                    }
                    index[exposed] = (name, original)
                }
            }
            state.index[kind] = index
            let newlyHidden = hidden.subtracting(state.hidden[kind] ?? [])
            state.hidden[kind] = hidden
            return newlyHidden.sorted()
        }
    }

    /// Marks a backend's list as needing a refresh (it sent list_changed).
    public func invalidate(_ kind: ItemKind, backend: String) {
        state.withLock { state in
            let key = Key(kind: kind, backend: backend)
            state.stale.insert(key)
            state.generation[key, default: 0] &+= 1
        }
    }

    /// The elements of a backend's items that it owns (not hidden by a collision), in order.
    public func visibleElements(_ kind: ItemKind, of backend: String, _ items: Items) -> [[UInt8]] {
        guard items.exposed.count == items.elements.count else { return items.elements }
        return state.withLock { state in
            guard let index = state.index[kind] else { return items.elements }
            return zip(items.elements, items.exposed).compactMap { element, name in
                index[name].map { $0.backend == backend } ?? true ? element : nil
            }
        }
    }

    /// How many items of a kind the catalog knows (after name collisions are resolved).
    public func count(_ kind: ItemKind) -> Int {
        state.withLock { $0.index[kind]?.count ?? 0 }
    }

    /// The backend and backend-side name behind an exposed name.
    public func lookup(_ kind: ItemKind, exposed: String) -> (backend: String, name: String)? {
        state.withLock { $0.index[kind]?[exposed] }
    }

    /// The backend owning a resource URI: an exact listed URI, else the listed URI template with the
    /// longest literal prefix matching it.
    public func resourceOwner(uri: String) -> String? {
        state.withLock { state in
            if let hit = state.index[.resource]?[uri] { return hit.backend }
            var best: (backend: String, length: Int)?
            for (template, owner) in state.index[.resourceTemplate] ?? [:] {
                let prefix = template.prefix { $0 != "{" }
                if !prefix.isEmpty, uri.hasPrefix(prefix), prefix.count > (best?.length ?? 0) {
                    best = (owner.backend, prefix.count)
                }
            }
            return best?.backend
        }
    }
}
