import Locking
import Logging
import Synchronization

/// Why a request naming an item could not be routed (sent to the client as -32602).
public struct RoutingFailure: Error, Sendable {
    public let message: String
    /// The JSON-RPC error code for the client: invalid params unless routing ran out of time.
    public var code: Int = JSONRPCErrorCode.invalidParams
}

/// The session core: every front-end hands it client messages; it answers what it can itself
/// (initialize, ping, lists it aggregates) and forwards the rest to the owning backend.
///
/// Nothing here holds a lock across backend I/O or an await: a slow backend delays only its own
/// requests, and a dead client loses only its own.
public final class HostCore: Sendable {
    public let options: HostOptions
    public let logger: Logger
    public let registry: PluginRegistry
    public let router: Router
    /// The configured backends; replaced as a whole by a configuration reload.
    struct Fleet {
        /// Backends by name, and in a stable order (by name) for lists.
        var backends: [String: Backend] = [:]
        var order: [String] = []
        /// The configuration they came from.
        var servers: [String: ServerConfig] = [:]
        var problems: [ConfigError] = []
        /// The host is shutting down: reloads change nothing any more.
        var stopped = false
        /// Backends a reload took out, still finishing their calls (shutdown waits for them).
        var retiring: [Task<Void, Never>] = []
    }
    let fleet: Locked<Fleet>
    /// Backends by name (a snapshot: a reload may change them).
    var backends: [String: Backend] { fleet.withLock { $0.backends } }
    /// Server names in order (by name): the order of lists, and of ownership of a colliding name.
    var order: [String] { fleet.withLock { $0.order } }
    let catalog = Catalog()
    /// Each backend's lists on disk (`<state dir>/catalog`), when the host was given a state directory.
    let catalogCache: CatalogCache?
    let sessions = SessionRegistry()
    let serverRequests = ServerRequests()
    /// Client requests accepted and not yet in a backend's table (being routed, or waiting for a start).
    let routing = RoutingTable()
    /// The router chain's answers for names the catalog does not list (emptied on reload).
    let routeMemo = RouteMemo()
    private let sweeper = Locked<Task<Void, Never>?>(nil)
    /// Kinds whose list went out without a slow backend; that backend's arrival triggers list_changed.
    private let owedListChanged = Locked<Set<String>>([])

    /// `stateDirectory`: where the catalog cache lives (`<dir>/catalog`); nil: no cache, every
    /// first list starts the backends.
    public init(config: HostConfig, registry: PluginRegistry, router: Router, options: HostOptions, logger: Logger,
                stateDirectory: String? = nil) {
        self.options = options
        self.logger = logger
        self.registry = registry
        self.router = router
        let order = Set(config.servers.map(\.name)).sorted()
        let cache = stateDirectory.flatMap { directory in
            CatalogCache.open(stateDirectory: directory, keys: Dictionary(config.servers.map {
                ($0.name, CatalogCache.key(for: $0, transport: registry.transport(named: $0.transport)?.plugin.info))
            }, uniquingKeysWith: { _, last in last }), logger: logger)
        }
        let fleet = Locked(Fleet())
        self.fleet = fleet
        let refresh = cache.map { CatalogRefresh(cache: $0, router: router, order: { fleet.withLock { $0.order } }) }
        self.catalogRefresh = refresh
        var backends: [String: Backend] = [:]
        for server in config.servers {
            backends[server.name] = Backend(config: server, registry: registry, options: options, logger: logger,
                                            sessions: sessions, catalog: catalog, serverRequests: serverRequests, routing: routing,
                                            catalogRefresh: refresh)
        }
        fleet.withLock {
            $0 = Fleet(backends: backends, order: order, servers: Dictionary(config.servers.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last }),
                       problems: config.problems)
        }
        self.catalogCache = cache
        catalog.setOrder(order)
        if let cache { loadCachedCatalog(from: cache, servers: order) }
    }

    let catalogRefresh: CatalogRefresh?

    /// Fills the catalog from the cache: lists answer from it without starting any backend; each
    /// backend's first start lists again (see `Backend.refreshCachedLists`).
    func loadCachedCatalog(from cache: CatalogCache, servers: [String]) {
        var loaded: [String] = []
        let order = self.order
        for name in servers {
            guard let backend = backends[name], let entry = cache.load(server: name) else { continue }
            for (kind, listed) in entry.lists.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                let items = backend.cachedItems(kind, listed: listed, router: router)
                for hidden in catalog.store(kind, backend: name, items: items, order: order, cached: true) {
                    logger.warning("\(kind.noun) '\(hidden.name)' of backend '\(hidden.backend)' is hidden: a backend earlier in order (by server name) exposes the same name")
                }
            }
            loaded.append(name)
        }
        if !loaded.isEmpty {
            logger.info("catalog loaded from the cache for \(loaded.count) of \(servers.count) server(s)",
                        metadata: ["servers": "\(loaded.joined(separator: ","))", "dir": "\(cache.directory)"])
        }
    }

    /// Starts the sweeper: request deadlines every 100 ms (a timed-out request is answered within
    /// that), idle backends (the reaper) every second.
    public func start() {
        let task = Task { [weak self] in
            var tick = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                guard let self else { return }
                let now = MonotonicClock.nanoseconds()
                for backend in self.backends.values { backend.expire(now: now) }
                // The reaper, once a second: idle backends are shut down (in the background, in
                // parallel: reapIfIdle only starts each shutdown).
                tick &+= 1
                if tick % 10 == 0 { for backend in self.backends.values { backend.reapIfIdle(now: now) } }
                for (id, route) in self.serverRequests.expire(now: now) {
                    route.backend.clientRequestFailed(route, code: JSONRPCErrorCode.requestTimeout,
                                                      message: "the client did not answer \(route.method) within \(formatSeconds(self.options.requestTimeout)) s")
                    self.sessions.session(route.session)?.send(JSONRPC.notification(
                        method: "notifications/cancelled",
                        params: Array(#"{"requestId":"#.utf8) + JSONString.encode(id) + Array(#","reason":"timed out in mcp-host"}"#.utf8)))
                }
            }
        }
        sweeper.withLock { $0 = task }
    }

    /// Stops every backend gracefully and in parallel.
    public func shutdown() async {
        sweeper.withLock { $0?.cancel() }
        let retiring = fleet.withLock { fleet -> [Task<Void, Never>] in
            fleet.stopped = true
            return fleet.retiring
        }
        for task in retiring { await task.value }
        await withTaskGroup(of: Void.self) { group in
            for backend in backends.values { group.addTask { await backend.shutdown() } }
        }
        await catalogCache?.flush() // lists fetched just before (mcp-host tools) reach the disk
    }

    public var backendNames: [String] { order }

    /// What the host holds in flight right now (for `/metrics` gauges and the soak tests, which
    /// check that it all drains to zero).
    public struct InFlightState: Sendable, Equatable {
        /// Backend name -> requests in flight there (clients' and the host's own, such as lists).
        public var requests: [String: Int]
        /// Client requests accepted but not yet sent to a backend (being routed, or waiting for
        /// their backend to start).
        public var routing: Int
        /// Requests backends sent to clients (sampling, elicitation, roots) awaiting an answer.
        public var awaitingClient: Int
        /// Backend name -> (resource URI, client session) subscription pairs held there.
        public var subscriptions: [String: Int]
        /// Open client sessions (every front-end, the host's own one-shot client included).
        public var sessions: Int
    }

    public func inFlightState() -> InFlightState {
        InFlightState(
            requests: backends.mapValues(\.inFlight),
            routing: routing.count,
            awaitingClient: serverRequests.count,
            subscriptions: backends.mapValues(\.subscriptionCount),
            sessions: sessions.count)
    }
    public func backend(named name: String) -> Backend? { backends[name] }

    // MARK: - Sessions

    /// Opens a client session; `sink` must enqueue without blocking. `canReceiveRequests` tells
    /// whether a request from a backend (sampling, elicitation) could reach the client right now.
    /// `relatedSink` (optional) takes messages that belong to one of the client's requests, with
    /// that request's id as the client sent it (an HTTP session puts them on that POST's stream).
    /// `caller`: who the client is as the front-end authenticated it (nil: an unauthenticated
    /// client of the front-end its label names).
    public func openSession(label: String, caller: Caller? = nil, sink: @escaping @Sendable ([UInt8]) -> Void,
                            canReceiveRequests: @escaping @Sendable () -> Bool = { true },
                            relatedSink: (@Sendable ([UInt8], [UInt8]) -> Void)? = nil) -> ClientSession {
        sessions.open(label: label, caller: caller, sink: sink, canReceiveRequests: canReceiveRequests, relatedSink: relatedSink)
    }

    /// Ends a session: everything it had in flight is cancelled on the backends, and what backends
    /// had asked it is answered with an error.
    public func closeSession(_ session: ClientSession) {
        sessions.close(session)
        routing.cancelSession(session.id)
        for backend in backends.values { backend.sessionEnded(session) }
        for (_, route) in serverRequests.removeSession(session.id) {
            route.backend.clientRequestFailed(route, code: JSONRPCErrorCode.requestCancelled, message: "the client session ended")
        }
    }

    // MARK: - Messages from clients

    /// Handles one message from a client. Never blocks: work that waits runs in its own task.
    public func receive(_ bytes: [UInt8], from session: ClientSession) {
        let envelope: Envelope
        do {
            envelope = try Envelope.parse(bytes)
        } catch {
            session.send(JSONRPC.error(id: error.id, code: error.code, message: error.message))
            return
        }
        receive(envelope, from: session)
    }

    /// Handles one message a front-end has parsed already (it is not scanned again).
    public func receive(_ envelope: Envelope, from session: ClientSession) {
        switch envelope.kind {
        case .request: handleRequest(envelope, from: session)
        case .notification: handleNotification(envelope, from: session)
        case .response:
            // The answer to a backend's request (sampling, elicitation, roots) that went to this client.
            guard let idRange = envelope.id, let id = envelope.scanner.string(at: idRange),
                  let route = serverRequests.take(id, session: session.id) else {
                logger.debug("response from a client dropped: it answers no request of this session", metadata: ["session": "\(session.label)"])
                return
            }
            route.backend.answerClientRequest(route, ByteSplice.apply([.init(idRange, route.backendID)], to: envelope.bytes))
        }
    }

    private func reply(_ session: ClientSession, _ envelope: Envelope, result: String) {
        session.reply(JSONRPC.result(id: envelope.idBytes ?? JSONRPC.null, result: Array(result.utf8)))
    }

    private func fail(_ session: ClientSession, _ envelope: Envelope, _ code: Int, _ message: String) {
        session.reply(JSONRPC.error(id: envelope.idBytes, code: code, message: message))
    }

    private func handleNotification(_ envelope: Envelope, from session: ClientSession) {
        switch envelope.method {
        case "notifications/initialized":
            session.state.withLock { $0.initialized = true }
        case "notifications/cancelled":
            guard let requestID = envelope.param("requestId") else { return }
            let clientID = Array(envelope.bytes[requestID.value])
            // Being routed: dropped at hand-off (which counts it as dropped). Look here first: see RoutingTable.
            if routing.cancel(session: session.id, clientID: clientID) { return }
            for backend in backends.values where backend.cancel(session: session, clientID: clientID, notification: envelope) {
                session.dropped()
                return
            }
        default:
            break // e.g. notifications/roots/list_changed: nothing routes roots yet
        }
    }

    private func handleRequest(_ envelope: Envelope, from session: ClientSession) {
        session.accepted()
        switch envelope.method ?? "" {
        case "initialize":
            initialize(envelope, from: session)
        case "ping":
            reply(session, envelope, result: "{}")
        case "server/discover":
            fail(session, envelope, JSONRPCErrorCode.methodNotFound,
                 "Method not found: server/discover (protocol 2026-07-28) is not supported yet; use initialize")
        case "logging/setLevel":
            guard let name = envelope.param("level").flatMap({ envelope.scanner.string(at: $0.value) }),
                  let level = LogSeverity(name: name) else {
                fail(session, envelope, JSONRPCErrorCode.invalidParams,
                     "Invalid params: logging/setLevel needs params.level, one of \(LogSeverity.allCases.map { "\($0)" }.joined(separator: ", "))")
                return
            }
            session.state.withLock { $0.logLevel = level }
            reply(session, envelope, result: "{}")
        case "tools/list": Task { await self.list(.tool, envelope, from: session) }
        case "prompts/list": Task { await self.list(.prompt, envelope, from: session) }
        case "resources/list": Task { await self.list(.resource, envelope, from: session) }
        case "resources/templates/list": Task { await self.list(.resourceTemplate, envelope, from: session) }
        case "tools/call": routeNamed(.tool, envelope, from: session)
        case "prompts/get": routeNamed(.prompt, envelope, from: session)
        case "resources/read": routeResource(envelope, from: session)
        case "resources/subscribe", "resources/unsubscribe": routeSubscription(envelope, from: session)
        case "completion/complete": routeCompletion(envelope, from: session)
        case let method:
            fail(session, envelope, JSONRPCErrorCode.methodNotFound, "Method not found: '\(method)'")
        }
    }

    private func initialize(_ envelope: Envelope, from session: ClientSession) {
        let requested = envelope.param("protocolVersion").flatMap { envelope.scanner.string(at: $0.value) }
        let version = ProtocolVersions.negotiate(requested)
        let client = envelope.param("clientInfo", "name").flatMap { envelope.scanner.string(at: $0.value) }
        let scanner = envelope.scanner
        let capabilities = envelope.param("capabilities").flatMap { try? scanner.members(ofObject: $0.value) }?
            .map { String(decoding: scanner.slice($0.key), as: UTF8.self) } ?? []
        session.state.withLock {
            $0.protocolVersion = version
            $0.clientName = client
            $0.capabilities = Set(capabilities)
        }
        logger.info("client initialized", metadata: ["session": "\(session.label)", "client": "\(client ?? "?")", "protocol": "\(version)"])
        let instructions = "mcp-host aggregates \(order.count) MCP server(s); items are named SERVER__NAME."
        reply(session, envelope, result: #"{"protocolVersion":"\#(version)","capabilities":{"tools":{"listChanged":true},"prompts":{"listChanged":true},"resources":{"listChanged":true,"subscribe":true},"completions":{},"logging":{}},"serverInfo":{"name":"mcp-host","version":"\#(HostVersion.string)"},"instructions":"#
            + String(decoding: JSONString.encode(instructions), as: UTF8.self) + "}")
    }

    // MARK: - Lists

    /// Fans a list out to every backend at once; a backend that fails or is slower than the list
    /// timeout is served from its last known items (or left out) and never fails the list.
    private func list(_ kind: ItemKind, _ envelope: Envelope, from session: ClientSession) async {
        let gathered = await withTaskGroup(of: (Int, Catalog.Items?).self) { group in
            for (index, name) in order.enumerated() {
                guard let backend = backends[name] else { continue }
                group.addTask { (index, await self.items(kind, of: backend)) }
            }
            var parts = [Catalog.Items?](repeating: nil, count: order.count)
            for await (index, items) in group { parts[index] = items }
            return parts
        }
        // Collisions are decided once every part is in (see Catalog): each name listed once. Items
        // the caller may not use (the routers' `allow`) are left out.
        let parts = zip(order, gathered).map { name, items in
            items.map { catalog.visibleElements(kind, of: name, router.visible($0, kind, to: session.caller)) } ?? []
        }
        var result = Array("{\"\(kind.resultKey)\":[".utf8)
        var first = true
        for element in parts.joined() {
            if !first { result.append(UInt8(ascii: ",")) }
            result.append(contentsOf: element)
            first = false
        }
        result.append(contentsOf: "]}".utf8)
        session.reply(JSONRPC.result(id: envelope.idBytes ?? JSONRPC.null, result: result))
    }

    /// One backend's items for a list, within the list timeout.
    func items(_ kind: ItemKind, of backend: Backend) async -> Catalog.Items? {
        if let cached = catalog.items(kind, of: backend.name) { return cached }
        let task = backend.listTask(kind, router: router, order: order)
        let outcome = OneShot<Result<Catalog.Items, BackendError>?>()
        Task { outcome.resolve(await task.value) }
        switch await outcome.value(timeout: options.listTimeout, orElse: nil) {
        case .success(let items)?:
            return items
        case .failure(let error)?:
            logger.warning("\(kind.listMethod) without this backend: \(error.description)", metadata: ["backend": "\(backend.name)"])
        case nil:
            logger.warning("\(kind.listMethod) answered without this backend: it did not list within \(formatSeconds(options.listTimeout)) s; clients get list_changed when it does",
                           metadata: ["backend": "\(backend.name)"])
            let key = "\(backend.name)/\(kind.rawValue)"
            let first = owedListChanged.withLock { $0.insert(key).inserted }
            if first {
                Task {
                    if case .success = await task.value {
                        self.sessions.broadcast(JSONRPC.notification(method: "notifications/\(kind.capability)/list_changed", params: nil))
                    }
                    _ = self.owedListChanged.withLock { $0.remove(key) }
                }
            }
        }
        return catalog.lastKnownItems(kind, of: backend.name)
    }

    // MARK: - Routing

    /// The backend and backend-side name behind an exposed name, loading at most the lists of the
    /// backends the name can belong to, within the request's deadline:
    /// - the catalog knows it (it knows shortened and aliased names): done;
    /// - the router names an existing backend: its split is used (the backend answers for a name
    ///   it does not have), except for a name that may be a shortened one (it ends in `_` and 8 hex
    ///   digits, the namespace router's hash suffix) while that backend's list is not loaded: that
    ///   one list is loaded first, since only the list maps a shortened name back;
    /// - otherwise only backends whose (sanitized) name prefixes the name are asked; a name that
    ///   fits no backend (`zz__x`) is unknown at once and starts nothing.
    /// A FORWARD for a name the catalog does not list is checked against the chain (see
    /// `checkUnlisted`): an item the chain hides, or that `caller` may not use, is unknown.
    func resolve(_ kind: ItemKind, method: String, name: String, deadline: UInt64, caller: Caller? = nil) async -> Result<(Backend, String), RoutingFailure> {
        if let hit = catalog.lookup(kind, exposed: name), let backend = backends[hit.backend] {
            return .success((backend, hit.name))
        }
        if let remembered = rememberedRoute(method, kind, name: name, caller: caller) { return remembered }
        let generation = routeMemo.generation
        let decision = router.route(method: method, kind: kind, name: name)
        var candidates: [Backend]
        switch decision {
        case .reject(let message):
            return .failure(RoutingFailure(message: message))
        case .forward(let backendName, let original):
            if let backend = backends[backendName] {
                if !Self.mayBeShortened(name) || catalog.lastKnownItems(kind, of: backendName) != nil {
                    return checkUnlisted(kind, name: name, backend: backend, original: original, caller: caller, memo: (method, generation))
                }
                candidates = [backend]
            } else {
                candidates = order.compactMap { backends[$0] }.filter { Self.mayOwn(name, backend: $0.name) }
            }
        case .noOpinion:
            candidates = order.compactMap { backends[$0] }.filter { Self.mayOwn(name, backend: $0.name) }
        }
        let toLoad = candidates.filter { catalog.lastKnownItems(kind, of: $0.name) == nil }
        if !toLoad.isEmpty {
            let loaded = OneShot<Bool>()
            Task {
                // Bounded by the request's deadline (below), not the list timeout: only the list
                // can tell what this name is.
                await withTaskGroup(of: Void.self) { group in
                    for backend in toLoad {
                        group.addTask { _ = await backend.listTask(kind, router: self.router, order: self.order).value }
                    }
                }
                loaded.resolve(true)
            }
            if await !loaded.value(timeout: MonotonicClock.seconds(nanoseconds: MonotonicClock.remaining(until: deadline, now: MonotonicClock.nanoseconds())), orElse: false) {
                return .failure(RoutingFailure(message: "could not resolve \(kind.noun) '\(name)' within \(formatSeconds(options.requestTimeout)) s: backend '\(toLoad.map(\.name).joined(separator: "', '"))' did not list its items in time", code: JSONRPCErrorCode.requestTimeout))
            }
        }
        if let hit = catalog.lookup(kind, exposed: name), let backend = backends[hit.backend] {
            return .success((backend, hit.name))
        }
        if case .forward(let backendName, let original) = decision, let backend = backends[backendName] {
            // A name that may be a shortened one is forwarded as split only once the list is known
            // (the backend then answers for a name it does not have); never on a guess.
            guard !Self.mayBeShortened(name) || catalog.lastKnownItems(kind, of: backendName) != nil else {
                return .failure(RoutingFailure(message: "\(kind.noun) '\(name)' may be a shortened name, and backend '\(backendName)' could not list its \(kind.noun)s to map it back; try again when it is available"))
            }
            return checkUnlisted(kind, name: name, backend: backend, original: original, caller: caller, memo: (method, generation))
        }
        return .failure(unknownItem(kind, name))
    }

    /// Whether a name ends like the namespace router's shortened names: `_` and 8 hex digits.
    static func mayBeShortened(_ name: String) -> Bool {
        let bytes = Array(name.utf8.suffix(9))
        guard bytes.count == 9, bytes[0] == UInt8(ascii: "_") else { return false }
        return bytes.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Whether `name` can be a tool or prompt of `backend` under the `server__name` rule, its
    /// shortened form included (which replaces characters outside `[A-Za-z0-9_.-]` with `_`).
    static func mayOwn(_ name: String, backend: String) -> Bool {
        let legal = String(decoding: backend.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                return byte
            default:
                return UInt8(ascii: "_")
            }
        }, as: UTF8.self)
        return name.hasPrefix(backend + "__") || name.hasPrefix(legal + "__")
    }

    /// The catalog's answer, else the router's when that backend's list is known, without loading
    /// anything; nil when only loading could tell.
    func resolveNow(_ kind: ItemKind, method: String, name: String, caller: Caller? = nil) -> Result<(Backend, String), RoutingFailure>? {
        if let hit = catalog.lookup(kind, exposed: name), let backend = backends[hit.backend] {
            return .success((backend, hit.name))
        }
        if let remembered = rememberedRoute(method, kind, name: name, caller: caller) { return remembered }
        let generation = routeMemo.generation
        switch router.route(method: method, kind: kind, name: name) {
        case .forward(let backendName, let original):
            guard let backend = backends[backendName],
                  !Self.mayBeShortened(name) || catalog.lastKnownItems(kind, of: backendName) != nil else { return nil }
            return checkUnlisted(kind, name: name, backend: backend, original: original, caller: caller, memo: (method, generation))
        case .reject(let message):
            return .failure(RoutingFailure(message: message))
        case .noOpinion:
            return nil
        }
    }

    /// Records a request that is about to be routed off this thread; nil (and the client answered
    /// with an error) when the client already has a request with this id being routed.
    private func beginRouting(_ envelope: Envelope, from session: ClientSession) -> RoutingTable.Ticket? {
        let deadline = MonotonicClock.deadline(after: options.requestTimeout, from: MonotonicClock.nanoseconds())
        guard let ticket = routing.begin(session: session.id, clientID: envelope.idBytes ?? JSONRPC.null, deadline: deadline) else {
            fail(session, envelope, JSONRPCErrorCode.invalidRequest,
                 "Invalid request: id \(String(decoding: envelope.idBytes ?? JSONRPC.null, as: UTF8.self)) is already in use by a request in flight in this session")
            return nil
        }
        return ticket
    }

    /// Answers a routed request that will not reach a backend, unless the client cancelled it.
    private func finishRouting(_ ticket: RoutingTable.Ticket, _ session: ClientSession, _ envelope: Envelope, _ code: Int, _ message: String) {
        if routing.finish(ticket) {
            session.dropped()
        } else {
            fail(session, envelope, code, message)
        }
    }

    /// tools/call and prompts/get: route by `params.name`, rename it for the backend.
    private func routeNamed(_ kind: ItemKind, _ envelope: Envelope, from session: ClientSession) {
        let method = envelope.method ?? ""
        guard let nameMember = envelope.param("name"), let name = envelope.scanner.string(at: nameMember.value) else {
            fail(session, envelope, JSONRPCErrorCode.invalidParams, "Invalid params: \(method) needs params.name (a string)")
            return
        }
        // A name the caller may not use is unknown to it (before anything is looked up or started).
        guard router.allows(kind, name: name, caller: session.caller) else {
            fail(session, envelope, JSONRPCErrorCode.invalidParams, unknownItem(kind, name).message)
            return
        }
        // Fast path: a known name on a ready backend is forwarded on this thread, with no task.
        if case .success(let (backend, original))? = resolveNow(kind, method: method, name: name, caller: session.caller), let live = backend.liveNow {
            backend.forwardNow(envelope, from: session, rename: original == name ? nil : (nameMember.value, original), on: live)
            return
        }
        guard let ticket = beginRouting(envelope, from: session) else { return }
        Task {
            switch await self.resolve(kind, method: method, name: name, deadline: ticket.deadline, caller: session.caller) {
            case .success(let (backend, original)):
                await backend.forward(envelope, from: session, rename: original == name ? nil : (nameMember.value, original), ticket: ticket)
            case .failure(let failure):
                self.finishRouting(ticket, session, envelope, failure.code, failure.message)
            }
        }
    }

    /// resources/read: route by `params.uri` (listed URIs, then URI templates).
    private func routeResource(_ envelope: Envelope, from session: ClientSession) {
        guard let uriMember = envelope.param("uri"), let uri = envelope.scanner.string(at: uriMember.value) else {
            fail(session, envelope, JSONRPCErrorCode.invalidParams, "Invalid params: resources/read needs params.uri (a string)")
            return
        }
        if let refusal = resourceRefusal("resources/read", uri: uri, caller: session.caller) {
            fail(session, envelope, refusal.code, refusal.message)
            return
        }
        guard let ticket = beginRouting(envelope, from: session) else { return }
        Task {
            switch await self.visibleResourceOwner(uri, deadline: ticket.deadline) {
            case .success(let backend):
                await backend.forward(envelope, from: session, rename: nil, ticket: ticket)
            case .failure(let failure):
                self.finishRouting(ticket, session, envelope, failure.code, failure.message)
            }
        }
    }

    /// resources/subscribe and resources/unsubscribe: to the backend owning the URI, which is
    /// subscribed once however many clients subscribe.
    private func routeSubscription(_ envelope: Envelope, from session: ClientSession) {
        let method = envelope.method ?? ""
        guard let uri = envelope.param("uri").flatMap({ envelope.scanner.string(at: $0.value) }) else {
            fail(session, envelope, JSONRPCErrorCode.invalidParams, "Invalid params: \(method) needs params.uri (a string)")
            return
        }
        // Subscribing needs access; unsubscribing never does (a client can always let go).
        if method == "resources/subscribe", let refusal = resourceRefusal(method, uri: uri, caller: session.caller) {
            fail(session, envelope, refusal.code, refusal.message)
            return
        }
        guard let ticket = beginRouting(envelope, from: session) else { return }
        Task {
            switch await (method == "resources/subscribe" ? self.visibleResourceOwner(uri, deadline: ticket.deadline)
                                                          : self.resourceOwner(uri, deadline: ticket.deadline)) {
            case .success(let backend):
                if method == "resources/subscribe" {
                    await backend.subscribe(envelope, uri: uri, from: session, ticket: ticket)
                } else {
                    backend.unsubscribe(envelope, uri: uri, from: session, ticket: ticket)
                }
            case .failure(let failure):
                self.finishRouting(ticket, session, envelope, failure.code, failure.message)
            }
        }
    }

    /// The backend owning a resource URI. URIs are not namespaced, so any backend whose resource
    /// lists are not loaded yet may own it: those lists are loaded, within the request's deadline.
    func resourceOwner(_ uri: String, deadline: UInt64) async -> Result<Backend, RoutingFailure> {
        if let owner = catalog.resourceOwner(uri: uri), let backend = backends[owner] { return .success(backend) }
        let loaded = OneShot<Bool>()
        Task {
            await withTaskGroup(of: Void.self) { group in
                for kind in [ItemKind.resource, .resourceTemplate] {
                    for backend in self.backends.values where self.catalog.lastKnownItems(kind, of: backend.name) == nil {
                        group.addTask { _ = await self.items(kind, of: backend) }
                    }
                }
            }
            loaded.resolve(true)
        }
        let inTime = await loaded.value(timeout: MonotonicClock.seconds(nanoseconds: MonotonicClock.remaining(until: deadline, now: MonotonicClock.nanoseconds())), orElse: false)
        if let owner = catalog.resourceOwner(uri: uri), let backend = backends[owner] { return .success(backend) }
        if !inTime {
            return .failure(RoutingFailure(message: "could not find the owner of resource '\(uri)' within \(formatSeconds(options.requestTimeout)) s: some backends did not list their resources in time",
                                           code: JSONRPCErrorCode.requestTimeout))
        }
        return .failure(unknownItem(.resource, uri))
    }

    /// completion/complete: to the backend owning the referenced prompt (renamed) or resource.
    private func routeCompletion(_ envelope: Envelope, from session: ClientSession) {
        let scanner = envelope.scanner
        let type = envelope.param("ref", "type").flatMap { scanner.string(at: $0.value) }
        guard let ticket = beginRouting(envelope, from: session) else { return }
        Task {
            switch type {
            case "ref/prompt":
                guard let member = envelope.param("ref", "name"), let name = scanner.string(at: member.value) else { break }
                guard self.router.allows(.prompt, name: name, caller: session.caller) else {
                    self.finishRouting(ticket, session, envelope, JSONRPCErrorCode.invalidParams, self.unknownItem(.prompt, name).message)
                    return
                }
                switch await self.resolve(.prompt, method: "completion/complete", name: name, deadline: ticket.deadline, caller: session.caller) {
                case .success(let (backend, original)):
                    await backend.forward(envelope, from: session, rename: original == name ? nil : (member.value, original), ticket: ticket)
                case .failure(let failure):
                    self.finishRouting(ticket, session, envelope, failure.code, failure.message)
                }
                return
            case "ref/resource":
                guard let member = envelope.param("ref", "uri"), let uri = scanner.string(at: member.value) else { break }
                if let refusal = self.resourceRefusal("completion/complete", uri: uri, caller: session.caller) {
                    self.finishRouting(ticket, session, envelope, refusal.code, refusal.message)
                    return
                }
                switch await self.visibleResourceOwner(uri, deadline: ticket.deadline) {
                case .success(let backend):
                    await backend.forward(envelope, from: session, rename: nil, ticket: ticket)
                case .failure(let failure):
                    self.finishRouting(ticket, session, envelope, failure.code, failure.message)
                }
                return
            default:
                break
            }
            self.finishRouting(ticket, session, envelope, JSONRPCErrorCode.invalidParams,
                               "Invalid params: completion/complete needs params.ref of type ref/prompt (with name) or ref/resource (with uri)")
        }
    }
}
