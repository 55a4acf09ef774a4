import Locking
import Synchronization

/// The aggregated catalog: for each kind and backend, the items as clients see them (already
/// renamed, as JSON bytes) and the map from exposed names back to the backend's own names.
public final class Catalog: Sendable {
    public struct Items: Sendable {
        /// Each item's JSON object, renamed and with its description prefixed.
        public var elements: [[UInt8]]
        /// Exposed name -> the backend's name.
        public var names: [String: String]

        public init(elements: [[UInt8]] = [], names: [String: String] = [:]) {
            self.elements = elements
            self.names = names
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

    /// Stores a backend's items; returns the names that collided with another backend's (the
    /// first backend in `order` keeps a colliding name).
    @discardableResult
    public func store(_ kind: ItemKind, backend: String, items: Items, order: [String]) -> [String] {
        state.withLock { state in
            let key = Key(kind: kind, backend: backend)
            state.items[key] = items
            state.stale.remove(key)
            var index: [String: (backend: String, name: String)] = [:]
            var collisions: [String] = []
            for name in order {
                guard let entry = state.items[Key(kind: kind, backend: name)] else { continue }
                for (exposed, original) in entry.names {
                    if index[exposed] != nil {
                        if name == backend { collisions.append(exposed) }
                        continue
                    }
                    index[exposed] = (name, original)
                }
            }
            state.index[kind] = index
            return collisions.sorted()
        }
    }

    /// Marks a backend's list as needing a refresh (it sent list_changed).
    public func invalidate(_ kind: ItemKind, backend: String) {
        _ = state.withLock { $0.stale.insert(Key(kind: kind, backend: backend)) }
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
