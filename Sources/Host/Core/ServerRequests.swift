import Locking
import Synchronization

/// Requests a backend sent to a client (sampling, elicitation, roots), in flight at that client.
///
/// Each one gets a host-issued id toward the client (`"mcph-N"`), since several backends may use the
/// same ids; the client's response is accepted only from the session the request went to and is
/// mapped back to the backend's own id, byte for byte.
final class ServerRequests: Sendable {
    struct Route: Sendable {
        let backend: Backend
        /// The connection the request came on: an answer goes back only on it, never to a
        /// restarted process that may have reused the id.
        let link: Backend.Link
        /// The backend's id for the request, byte for byte.
        let backendID: [UInt8]
        let session: UInt64
        let deadline: UInt64
        let method: String
    }

    private let routes = Locked<[String: Route]>([:])
    private let counter = Atomic<UInt64>(1)

    /// Requests awaiting a client's answer.
    var count: Int { routes.withLock { $0.count } }

    /// Records a forwarded request and returns the id to use toward the client.
    func add(_ route: Route) -> String {
        let id = "mcph-\(counter.wrappingAdd(1, ordering: .relaxed).oldValue)"
        routes.withLock { $0[id] = route }
        return id
    }

    /// The route of a client's response, if that client was the one asked.
    func take(_ id: String, session: UInt64) -> Route? {
        routes.withLock { routes in
            guard let route = routes[id], route.session == session else { return nil }
            routes.removeValue(forKey: id)
            return route
        }
    }

    /// The route of a request the backend itself cancelled (on the connection it asked on).
    func take(link: Backend.Link, backendID: [UInt8]) -> (id: String, route: Route)? {
        routes.withLock { routes in
            guard let match = routes.first(where: { $0.value.link === link && $0.value.backendID == backendID }) else { return nil }
            routes.removeValue(forKey: match.key)
            return (match.key, match.value)
        }
    }

    func expire(now: UInt64) -> [(id: String, route: Route)] {
        take { $0.deadline <= now }
    }

    func removeSession(_ session: UInt64) -> [(id: String, route: Route)] {
        take { $0.session == session }
    }

    /// Whether a request that came on `link` awaits a client's answer.
    func has(link: Backend.Link) -> Bool { routes.withLock { $0.values.contains { $0.link === link } } }

    /// The routes of requests that came on a connection that ended.
    func removeLink(_ link: Backend.Link) -> [(id: String, route: Route)] {
        take { $0.link === link }
    }

    private func take(where predicate: (Route) -> Bool) -> [(id: String, route: Route)] {
        routes.withLock { routes in
            let matching = routes.filter { predicate($0.value) }.map { (id: $0.key, route: $0.value) }
            for item in matching { routes.removeValue(forKey: item.id) }
            return matching
        }
    }
}
