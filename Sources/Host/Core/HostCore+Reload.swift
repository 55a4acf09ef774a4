/// Configuration reload (SIGHUP, or a change to the servers file or its drop-in directory).
extension HostCore {
    /// What a reload did, for the log and the tests.
    public struct ReloadReport: Sendable, Equatable {
        public var added: [String] = []
        public var removed: [String] = []
        public var changed: [String] = []
        public var unchanged: [String] = []
        public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
    }

    /// The problems of the running configuration (servers disabled by an error).
    public var configProblems: [ConfigError] { fleet.withLock { $0.problems } }

    /// Applies a new, already validated configuration: added servers appear, removed ones are
    /// shut down, changed ones are replaced by a new backend (restarted), untouched ones keep
    /// running with their requests. New requests go to the new set at once; a removed or
    /// replaced backend's requests in flight get up to its shutdown grace to finish (retiring
    /// runs in the background; `await` the returned task to wait for it). Clients are told that
    /// the lists changed. The caller serialises reloads.
    @discardableResult
    public func reload(_ config: HostConfig) -> (report: ReloadReport, retiring: Task<Void, Never>) {
        var report = ReloadReport()
        var retired: [(Backend, String)] = []
        let newServers = Dictionary(config.servers.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        let newOrder = newServers.keys.sorted()
        var fresh: [String] = []
        let stopped = fleet.withLock { fleet -> Bool in
            guard !fleet.stopped else { return true }
            var backends: [String: Backend] = [:]
            for name in newOrder {
                guard let server = newServers[name] else { continue }
                if let old = fleet.servers[name], let running = fleet.backends[name] {
                    if old == server {
                        backends[name] = running
                        report.unchanged.append(name)
                        continue
                    }
                    report.changed.append(name)
                    retired.append((running, "was changed in the configuration"))
                } else {
                    report.added.append(name)
                }
                backends[name] = Backend(config: server, registry: registry, options: options, logger: logger,
                                         sessions: sessions, catalog: catalog, serverRequests: serverRequests, routing: routing,
                                         catalogRefresh: catalogRefresh)
                fresh.append(name)
            }
            for name in fleet.order where newServers[name] == nil {
                report.removed.append(name)
                if let running = fleet.backends[name] { retired.append((running, "was removed from the configuration")) }
            }
            fleet.backends = backends
            fleet.order = newOrder
            fleet.servers = newServers
            fleet.problems = config.problems
            return false
        }
        guard !stopped else {
            logger.info("configuration reload ignored: mcp-host is shutting down")
            return (report, Task {})
        }
        // Names resolve again against the new set of backends (and the routers' new settings below).
        routeMemo.invalidate()
        // Marked removed before their items go: a list they fetch from now on is never stored.
        for (backend, reason) in retired { backend.markRetired(reason: reason) }
        catalog.setOrder(newOrder)
        // Old items out (names resolved again in the new order), cached items of new entries in.
        for name in report.removed + report.changed {
            for hidden in catalog.remove(backend: name, order: newOrder) {
                logger.warning("\(hidden.name) of backend '\(hidden.backend)' is hidden: a backend earlier in order exposes the same name")
            }
        }
        if let cache = catalogCache {
            for name in report.removed { cache.setKey(nil, for: name) }
            for name in fresh {
                guard let server = newServers[name] else { continue }
                cache.setKey(CatalogCache.key(for: server, transport: registry.transport(named: server.transport)?.plugin.info), for: name)
            }
            loadCachedCatalog(from: cache, servers: fresh)
        }
        for server in config.servers where fresh.contains(server.name) && registry.transport(named: server.transport) == nil {
            logger.error("server '\(server.name)' (\(server.source)) needs transport '\(server.transport)', which no loaded plugin provides")
        }
        // The router chain is built once, at start: say so rather than ignore a new one.
        if let routers = config.routers, routers != router.ids {
            logger.warning("\"routers\" in the configuration (\(routers.joined(separator: " -> "))) differs from the running router chain (\(router.ids.isEmpty ? "none" : router.ids.joined(separator: " -> "))): a new chain needs a restart of mcp-host (--router, when given, overrides \"routers\"); the running chain stays")
        }
        if !report.isEmpty {
            logger.info("configuration reloaded", metadata: [
                "added": "\(report.added.joined(separator: ","))", "removed": "\(report.removed.joined(separator: ","))",
                "changed": "\(report.changed.joined(separator: ","))", "unchanged": "\(report.unchanged.count)"])
            for list in ["tools", "prompts", "resources"] {
                sessions.broadcast(JSONRPC.notification(method: "notifications/\(list)/list_changed", params: nil))
            }
        } else {
            logger.info("configuration reloaded: no server changed")
        }
        var routersChanged = false
        for plugin in registry.plugins {
            switch plugin.reconfigure(config.pluginSettings[plugin.info.id]) {
            case .unchanged: break
            case .applied:
                logger.info("plugin '\(plugin.info.id)' took its new settings")
                if router.chain.contains(where: { $0.plugin === plugin }) { routersChanged = true }
            case .needsRestart(let message): logger.warning("\(message)")
            case .refused(let message): logger.error("\(message); it keeps its old settings")
            }
        }
        // A router's new rules apply to the items listed already: expose them again (clients get
        // list_changed when what they see changes).
        if routersChanged {
            routeMemo.invalidate()
            reexposeCatalog()
        }
        let leaving = retired
        let retiring = Task {
            await withTaskGroup(of: Void.self) { group in
                for (backend, reason) in leaving { group.addTask { await backend.retire(reason: reason) } }
            }
        }
        if !leaving.isEmpty { fleet.withLock { $0.retiring.append(retiring) } }
        return (report, retiring)
    }
}
