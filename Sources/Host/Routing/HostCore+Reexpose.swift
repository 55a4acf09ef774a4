/// Applying a router's new settings to what the host already knows.
extension HostCore {
    /// Exposes every list the catalog holds again through the router chain, from the items as the
    /// backends listed them (no backend is asked or started), and tells clients that the lists
    /// changed. Call it after a router of the chain took new settings (`reconfigure` answered
    /// MCPH_OK): names are then renamed, hidden and shown by the new rules at once, for lists and
    /// for calls by listed names alike. (Per-caller `allow` needs nothing: it is asked live.)
    ///
    /// A list invalidated before (or during) this stays marked for refetching; a list marked as
    /// coming from the catalog cache keeps that mark.
    public func reexposeCatalog() {
        let order = self.order
        for name in order {
            guard let backend = backends[name] else { continue }
            for kind in ItemKind.allCases {
                let generation = catalog.generation(kind, of: name)
                let fresh = catalog.items(kind, of: name) != nil
                guard let known = catalog.lastKnownItems(kind, of: name) else { continue }
                let items = backend.cachedItems(kind, listed: known.listed, router: router)
                // A stale list stays stale: stored under a generation that is not the current one.
                let hidden = catalog.store(kind, backend: name, items: items, order: order,
                                           generation: fresh ? generation : generation &+ 1, cached: catalog.isCached(kind, of: name))
                for item in hidden {
                    logger.warning("\(kind.noun) '\(item.name)' of backend '\(item.backend)' is hidden: a backend earlier in order (by server name) exposes the same name")
                }
            }
        }
        logger.info("lists exposed again through the router chain (\(router.ids.joined(separator: " -> ")))")
        for list in ["tools", "prompts", "resources"] {
            sessions.broadcast(JSONRPC.notification(method: "notifications/\(list)/list_changed", params: nil))
        }
    }
}
