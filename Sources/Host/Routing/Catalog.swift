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
///
/// Cached items: items loaded from the catalog cache (`CatalogCache`) at start-up are served like
/// fetched ones but marked as cached until the backend lists that kind itself; the backend's first
/// start then refreshes them (`cachedKinds`).
public final class Catalog: Sendable {
    public struct Items: Sendable {
        /// Each item's JSON object, renamed and with its description prefixed.
        public var elements: [[UInt8]]
        /// Exposed name -> the backend's name.
        public var names: [String: String]
        /// The exposed name of each element, in the same order as `elements`.
        public var exposed: [String]
        /// Every item object exactly as the backend listed it (before renaming; also those the
        /// router did not expose): what the catalog cache stores.
        public var listed: [[UInt8]]

        public init(elements: [[UInt8]] = [], names: [String: String] = [:], exposed: [String] = [], listed: [[UInt8]] = []) {
            self.elements = elements
            self.names = names
            self.exposed = exposed
            self.listed = listed
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
        /// Lists loaded from the catalog cache that the backend has not listed itself since.
        var cached: Set<Key> = []
        /// The host's current server order (`setOrder`), which wins over the order a fetch that
        /// began before a reload carries.
        var order: [String]?
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
    /// kept for serving but stay stale, so the next list fetches again. `cached`: the items come
    /// from the catalog cache, not from the backend (see `cachedKinds`).
    @discardableResult
    public func store(_ kind: ItemKind, backend: String, items: Items, order: [String], generation: UInt64? = nil,
                      cached: Bool = false) -> [Hidden] {
        state.withLock { state in
            let key = Key(kind: kind, backend: backend)
            state.items[key] = items
            if cached { state.cached.insert(key) } else { state.cached.remove(key) }
            if generation == nil || generation == (state.generation[key] ?? 0) { state.stale.remove(key) }
            return Self.reindex(kind, order: state.order ?? order, in: &state)
        }
    }

    /// Sets the host's server order (at start and on every reload): names are resolved in it.
    public func setOrder(_ order: [String]) {
        state.withLock { $0.order = order }
    }

    /// Forgets every item of a backend (a reload removed or changed its entry) and resolves the
    /// names again in the new `order`; returns the items newly hidden. Its generations advance, so
    /// a fetch that started before is never taken for fresh.
    @discardableResult
    public func remove(backend: String, order: [String]) -> [Hidden] {
        state.withLock { state in
            var newlyHidden: [Hidden] = []
            for kind in ItemKind.allCases {
                let key = Key(kind: kind, backend: backend)
                state.items[key] = nil
                state.cached.remove(key)
                state.stale.remove(key)
                state.generation[key, default: 0] &+= 1
                newlyHidden += Self.reindex(kind, order: order, in: &state)
            }
            return newlyHidden
        }
    }

    /// Rebuilds a kind's name index: the first backend in `order` keeps a colliding name.
    private static func reindex(_ kind: ItemKind, order: [String], in state: inout State) -> [Hidden] {
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

    /// Whether a backend's items of a kind came from the catalog cache and the backend has not
    /// listed that kind itself since.
    public func isCached(_ kind: ItemKind, of backend: String) -> Bool {
        state.withLock { $0.cached.contains(Key(kind: kind, backend: backend)) }
    }

    /// The kinds whose items of a backend came from the catalog cache (not listed by it since).
    public func cachedKinds(of backend: String) -> [ItemKind] {
        state.withLock { state in ItemKind.allCases.filter { state.cached.contains(Key(kind: $0, backend: backend)) } }
    }

    /// Every kind of a backend's items the catalog knows (stale or not), as the backend listed
    /// them: what the catalog cache writes.
    public func listedItems(of backend: String) -> [ItemKind: [[UInt8]]] {
        state.withLock { state in
            var lists: [ItemKind: [[UInt8]]] = [:]
            for kind in ItemKind.allCases {
                if let items = state.items[Key(kind: kind, backend: backend)] { lists[kind] = items.listed }
            }
            return lists
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
