/// What the router chain and the caller's identity allow for requests naming an item. Every
/// refusal of a hidden item reads exactly like the answer for a name that does not exist, so a
/// client cannot tell a hidden item from a missing one by probing names.
extension HostCore {
    /// The answer for an item name that no configured server provides, and for one the chain
    /// hides or the caller may not use.
    func unknownItem(_ kind: ItemKind, _ name: String) -> RoutingFailure {
        switch kind {
        case .resource, .resourceTemplate:
            return RoutingFailure(message: "Unknown resource '\(name)': no configured server lists it or a template matching it")
        case .tool, .prompt:
            return RoutingFailure(message: "Unknown \(kind.noun) '\(name)': no configured server provides it (servers: \(order.isEmpty ? "none" : order.joined(separator: ", ")))")
        }
    }

    /// A router FORWARD for a name the catalog does not list (the list is not loaded yet, or the
    /// name was guessed): the item it names is checked against the chain's `expose`, so an item
    /// the chain hides is unknown whatever the routers' `route` said, and the caller's access is
    /// checked under the name the chain exposes for it (a name besides the listed one, such as the
    /// original of an alias, gives no other access).
    /// A FORWARD that passes is remembered (`RouteMemo`) when `memo` is given: the request's method
    /// and the memo's generation read before the chain's `route` was asked.
    func checkUnlisted(_ kind: ItemKind, name: String, backend: Backend, original: String,
                       caller: Caller?, memo: (method: String, generation: UInt64)? = nil) -> Result<(Backend, String), RoutingFailure> {
        guard let exposed = router.expose(kind, backend: backend.name, name: original) else { return .failure(unknownItem(kind, name)) }
        if let caller, exposed != name, !router.allows(kind, name: exposed, caller: caller) { return .failure(unknownItem(kind, name)) }
        if let memo {
            routeMemo.remember(.init(backend: backend.name, original: original, exposed: exposed), for: memo.method, kind, name,
                               generation: memo.generation)
        }
        return .success((backend, original))
    }

    /// The chain's remembered FORWARD for `name`, checked as `checkUnlisted` checks a new one
    /// (the caller's access asked again); nil when nothing is remembered for a current backend.
    func rememberedRoute(_ method: String, _ kind: ItemKind, name: String, caller: Caller?) -> Result<(Backend, String), RoutingFailure>? {
        guard let answer = routeMemo.lookup(method, kind, name), let backend = backends[answer.backend] else { return nil }
        if let caller, answer.exposed != name, !router.allows(kind, name: answer.exposed, caller: caller) { return .failure(unknownItem(kind, name)) }
        return .success((backend, answer.original))
    }

    /// Why a request naming resource `uri` is refused before its owner is looked up: the caller may
    /// not use it, or a router of the chain REJECTs it; nil when it may go on.
    func resourceRefusal(_ method: String, uri: String, caller: Caller) -> RoutingFailure? {
        guard router.allows(.resource, name: uri, caller: caller) else { return unknownItem(.resource, uri) }
        if case .reject(let message) = router.route(method: method, kind: .resource, name: uri) { return RoutingFailure(message: message) }
        return nil
    }

    /// The owner of a resource URI, unless the chain hides that URI on that backend (a hidden
    /// resource can still match a listed URI template of its backend): then unknown.
    func visibleResourceOwner(_ uri: String, deadline: UInt64) async -> Result<Backend, RoutingFailure> {
        let owner = await resourceOwner(uri, deadline: deadline)
        guard case .success(let backend) = owner, catalog.lookup(.resource, exposed: uri) == nil else { return owner }
        return router.expose(.resource, backend: backend.name, name: uri) == nil ? .failure(unknownItem(.resource, uri)) : owner
    }
}
