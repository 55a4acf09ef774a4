import Locking
import Logging
import LineIO
import PluginAPI
import Synchronization

/// One configured backend: started lazily and once, shared by every client through the
/// multiplexer (`PendingTable`), restarted on the next use after it exits.
///
/// Concurrency: state lives in two small Mutexes (`state`, `mux`), never held across I/O or an
/// await. Messages from the backend arrive on the transport's thread and are handled inline:
/// parse the envelope, one table lookup, splice, hand to the client's queue.
public final class Backend: Sendable {
    enum Waiter: Sendable {
        case client(ClientSession)
        case host(OneShot<Result<Envelope, BackendError>>)
    }

    /// One transport connection and its life signals.
    final class Link: Sendable {
        let connection: BackendConnection
        let opened = OneShot<Result<Void, BackendError>>()
        let ended = OneShot<String>()
        let destroyed = OneShot<Void>()
        /// Set once the initialize handshake is done; before it, stray output is tolerated.
        let handshakeDone = Atomic<Bool>(false)
        /// Set when the connection stopped being the backend's current one (it ended, or broke the
        /// protocol and is closing): whatever it still writes is void and dropped.
        let retired = Atomic<Bool>(false)
        /// A close was scheduled because the transport refused input (see `Backend.send`).
        let closeScheduled = Atomic<Bool>(false)
        /// The host shut the connection down because the backend was idle (the reaper): a request
        /// that raced it starts the backend again rather than failing.
        let reaped = Atomic<Bool>(false)
        /// What the transport said when it opened (ABI 1.3): the process it started, and a
        /// description of the connection, for status.
        let openedAs = Locked<(pid: Int32, detail: String)>((0, ""))

        /// The connection is over for requests: it ended, or stopped being the current one (set
        /// before its table is failed, so a request registered after that sees it).
        var isOver: Bool { retired.load(ordering: .acquiring) || ended.isResolved }

        init(connection: BackendConnection) {
            self.connection = connection
        }
    }

    /// A backend that finished its handshake.
    final class Live: Sendable {
        let link: Link
        /// Capability names the backend declared (`tools`, `prompts`, `resources`, `completions`, ...).
        let capabilities: Set<String>
        /// The backend declared `resources.subscribe`.
        let canSubscribe: Bool
        let serverInfo: String

        init(link: Link, capabilities: Set<String>, canSubscribe: Bool, serverInfo: String) {
            self.link = link
            self.capabilities = capabilities
            self.canSubscribe = canSubscribe
            self.serverInfo = serverInfo
        }
    }

    typealias Lifecycle = BackendLifecycle<Live, Task<Result<Live, BackendError>, Never>>

    private struct Control {
        /// Stopped, starting, ready, reaping, backing off, removed (see BackendLifecycle).
        var lifecycle: Lifecycle
        var link: Link?
        var shuttingDown = false
        /// The running list fetch of each kind, and the catalog generation it started at.
        var listTasks: [ItemKind: (generation: UInt64, task: Task<Result<Catalog.Items, BackendError>, Never>)] = [:]
        /// Connections the reaper is shutting down (their grace may still run): a new start and
        /// the host's shutdown wait for them.
        var reaping: [Link] = []
    }

    public let config: ServerConfig
    public var name: String { config.name }
    let registry: PluginRegistry
    let options: HostOptions
    let logger: Logger
    let sessions: SessionRegistry
    let catalog: Catalog
    /// The catalog cache, when the host keeps one (see Lists).
    let catalogRefresh: CatalogRefresh?
    let serverRequests: ServerRequests
    let routing: RoutingTable
    private let control: Locked<Control>
    let mux = Locked(PendingTable<Waiter>())
    /// Resource URI -> the sessions subscribed to it, and the backend's own subscription (see
    /// Subscriptions: once per URI, its operations in order).
    private let subscriptions = Subscriptions()
    /// Clients' requests over time (for the adaptive idle timeout), kept across restarts.
    private let usage = Locked(UsageStats())
    /// When the backend last started or finished a request (monotonic ns): idle since then.
    private let lastActivity = Atomic<UInt64>(MonotonicClock.nanoseconds())

    init(config: ServerConfig, registry: PluginRegistry, options: HostOptions, logger: Logger,
         sessions: SessionRegistry, catalog: Catalog, serverRequests: ServerRequests, routing: RoutingTable,
         catalogRefresh: CatalogRefresh? = nil) {
        self.config = config
        self.registry = registry
        self.options = options
        var logger = logger
        logger[metadataKey: "backend"] = "\(config.name)"
        self.logger = logger
        self.sessions = sessions
        self.catalog = catalog
        self.catalogRefresh = catalogRefresh
        self.serverRequests = serverRequests
        self.routing = routing
        self.control = Locked(Control(lifecycle: Lifecycle(backoff: .init(initial: options.startBackoff.initial,
                                                                            maximum: options.startBackoff.maximum))))
    }

    /// A short state name for status output.
    public var stateName: String {
        let idle = inFlight == 0
        return control.withLock { $0.lifecycle.stateName(idle: idle) }
    }

    public var inFlight: Int { mux.withLock { $0.count } }

    /// Seconds a request to this backend may take: its own `request_timeout`, else the host's.
    var requestTimeout: Double { config.requestTimeout ?? options.requestTimeout }

    /// (URI, session) subscription pairs held on this backend.
    public var subscriptionCount: Int { subscriptions.count }

    // MARK: - Start-up

    /// The live backend, starting it if needed. Concurrent callers share one start.
    func ready() async -> Result<Live, BackendError> {
        enum Next { case live(Live), wait(Task<Result<Live, BackendError>, Never>), fail(BackendError) }
        let now = MonotonicClock.nanoseconds()
        let next: Next = control.withLock { control in
            if control.shuttingDown { return .fail(.cancelled("mcp-host is shutting down")) }
            switch control.lifecycle.admit(now: now, makeStart: { Task { await self.start() } }) {
            case .live(let live): return .live(live)
            case .wait(let task), .started(let task): return .wait(task)
            case .backingOff(let reason, let retryIn):
                return .fail(.backingOff(backend: name, reason: reason, retryInSeconds: MonotonicClock.wholeSecondsRoundedUp(nanoseconds: retryIn)))
            case .refused(let reason):
                return .fail(.cancelled(reason))
            }
        }
        switch next {
        case .live(let live): return .success(live)
        case .wait(let task): return await task.value
        case .fail(let error): return .failure(error)
        }
    }

    /// `ready()`, bounded: a start that takes longer goes on in the background (later requests
    /// find the backend ready) while this request gets a timeout error.
    func ready(within seconds: Double, method: String) async -> Result<Live, BackendError> {
        if let current = liveNow { return .success(current) } // the common case: no race to set up
        let outcome = OneShot<Result<Live, BackendError>>()
        Task { outcome.resolve(await self.ready()) }
        return await outcome.value(timeout: seconds, orElse: .failure(.timedOut(backend: self.name, method: method, seconds: seconds)))
    }

    private func start() async -> Result<Live, BackendError> {
        var result = await connectAndInitialize()
        var backoff: Double?
        var unused: Link?
        control.withLock { control in
            let now = MonotonicClock.nanoseconds()
            switch result {
            case .success(let live) where control.link !== live.link:
                // The connection ended between the initialize answer and here (connectionEnded
                // cleared `link` but saw no `.ready` to reset): never mark a dead link ready. Not a
                // failed start (the handshake worked), so the next use starts it again at once.
                control.lifecycle.startLost("exited right after its start", now: now)
                result = .failure(.exited(backend: name, detail: "exited right after its start"))
            case .success(let live):
                if control.shuttingDown || !control.lifecycle.startSucceeded(live, now: now) {
                    // Stopped or removed meanwhile: this connection serves nobody.
                    control.lifecycle.startLost("stopped while it started", now: now)
                    if control.link === live.link { control.link = nil }
                    live.link.retired.store(true, ordering: .releasing)
                    unused = live.link
                    result = .failure(.cancelled("backend '\(name)' was stopped while it started"))
                }
                lastActivity.store(now, ordering: .relaxed) // idle from its start
            case .failure(let error):
                backoff = control.lifecycle.startFailed(error.description, now: now)
            }
        }
        if let unused { closeUnused(unused) }
        switch result {
        case .success(let live):
            logger.info("backend ready", metadata: ["server": "\(live.serverInfo)"])
            refreshCachedLists()
        case .failure(let error):
            if let backoff {
                logger.error("\(error.description); backing off \(formatSeconds(backoff)) s before the next start")
            } else {
                logger.error("\(error.description)")
            }
        }
        return result
    }

    private func connectAndInitialize() async -> Result<Live, BackendError> {
        guard let transport = registry.transport(named: config.transport) else {
            return .failure(.noTransport(backend: name, transport: config.transport, available: Array(registry.transports.keys)))
        }
        // A reaped process may still be in its grace (holding a port, a lock file): a new one
        // starts once it is gone, bounded by the grace.
        await waitForReaped()
        // Removed (a reload) or shutting down while it waited: start nothing.
        if let reason = control.withLock({ control -> String? in
            if control.shuttingDown { return "backend '\(name)' was stopped while it started" }
            if case .removed(let reason) = control.lifecycle.phase { return reason }
            return nil
        }) {
            return .failure(.cancelled(reason))
        }
        let box = LinkBox()
        let connection = BackendConnection(
            transport: transport, logger: logger,
            onMessage: { [weak self] bytes, related in
                guard let self, let link = box.link else { return }
                self.received(bytes, on: link, related: related)
            },
            onEvent: { [weak self] event in
                guard let self, let link = box.link else { return }
                self.handle(event, on: link)
            })
        let link = Link(connection: connection)
        box.link = link
        // Recorded under the same lock as `shutdown` sets `shuttingDown` and reads the link: either
        // this start sees the shutdown, or the shutdown sees (and closes) this link.
        let stopped = control.withLock { control -> Bool in
            if control.shuttingDown { return true }
            control.link = link
            return false
        }
        if stopped { return .failure(.cancelled("backend '\(name)' was stopped while it started")) }
        do {
            try connection.open(config: config.transportConfig)
        } catch {
            control.withLock { if $0.link === link { $0.link = nil } }
            return .failure(.startFailed(backend: name, reason: error.description))
        }
        if case .failure(let error) = await link.opened.value(timeout: requestTimeout,
                                                             orElse: .failure(.startFailed(backend: self.name, reason: "the transport did not open within \(formatSeconds(self.requestTimeout)) s"))) {
            link.connection.close(graceMs: 0)
            return .failure(error)
        }
        // Sampling and elicitation are declared so a backend may ask; each such request is routed to
        // the one client it belongs to, or refused (see answerServerRequest). Roots are not declared:
        // a backend asks for them outside any client's request, where no client can be chosen.
        let params = #"{"protocolVersion":"\#(ProtocolVersions.latest)","capabilities":{"sampling":{},"elicitation":{}},"clientInfo":{"name":"mcp-host","version":"\#(HostVersion.string)"}}"#
        let response: Envelope
        switch await request(on: link, method: "initialize", params: Array(params.utf8)) {
        case .success(let envelope): response = envelope
        case .failure(let error):
            link.connection.close(graceMs: options.shutdownGraceMs)
            if case .exited(_, let detail) = error { return .failure(.startFailed(backend: name, reason: detail)) }
            return .failure(.startFailed(backend: name, reason: error.description))
        }
        if let error = response.member("error") {
            link.connection.close(graceMs: options.shutdownGraceMs)
            return .failure(.startFailed(backend: name, reason: "initialize was refused: \(String(decoding: response.scanner.slice(error.value), as: UTF8.self))"))
        }
        var capabilities: Set<String> = []
        var canSubscribe = false
        var serverInfo = name
        if let result = response.member("result") {
            if let caps = try? response.scanner.member("capabilities", inObject: result.value),
               let members = try? response.scanner.members(ofObject: caps.value) {
                capabilities = Set(members.map { String(decoding: response.scanner.slice($0.key), as: UTF8.self) })
            }
            if let flag = try? response.scanner.member(path: ["capabilities", "resources", "subscribe"], inObject: result.value) {
                canSubscribe = response.scanner.slice(flag.value).elementsEqual("true".utf8)
            }
            if let info = try? response.scanner.member(path: ["serverInfo", "name"], inObject: result.value) {
                serverInfo = response.scanner.string(at: info.value) ?? name
            }
        }
        _ = link.connection.sendControl(JSONRPC.notification(method: "notifications/initialized", params: nil))
        link.handshakeDone.store(true, ordering: .releasing)
        if canSubscribe {
            // A restarted backend has forgotten the subscriptions its clients still hold.
            subscriptions.restarted(subscriptionOperations)
        }
        return .success(Live(link: link, capabilities: capabilities, canSubscribe: canSubscribe, serverInfo: serverInfo))
    }

    /// Lets the connection's callbacks reach their link, which is created after the connection.
    private final class LinkBox: @unchecked Sendable {
        // Written once before `open`, read only by callbacks that `open` makes possible.
        var link: Link?
    }

    // MARK: - Requests

    /// Sends one of the host's own requests (initialize, lists) and waits for its response.
    func request(on link: Link, method: String, params: [UInt8]?, deadline: UInt64? = nil) async -> Result<Envelope, BackendError> {
        let waiter = OneShot<Result<Envelope, BackendError>>()
        let deadline = deadline ?? MonotonicClock.deadline(after: requestTimeout, from: MonotonicClock.nanoseconds())
        let id = mux.withLock {
            $0.register(.init(waiter: .host(waiter), session: 0, clientID: [], progressToken: nil, deadline: deadline, method: method))
        }
        let status = link.isOver ? MCPH_E_CLOSED : link.connection.send(JSONRPC.request(id: Array(String(id).utf8), method: method, params: params))
        if status != MCPH_OK, mux.withLock({ $0.complete(id) }) != nil {
            return .failure(status == MCPH_E_AGAIN ? .overloaded(backend: name) : .exited(backend: name, detail: Self.sendFailure(status)))
        }
        return await waiter.value()
    }

    /// Forwards a client's request: a fresh backend id, the item name rewritten if asked, the
    /// progress token made host-unique; every other byte as the client sent it.
    /// The ticket's deadline covers the whole request: routing, list loading and a cold start of
    /// the backend included. A request the client cancelled meanwhile is dropped unanswered.
    func forward(_ envelope: Envelope, from session: ClientSession, rename: (range: Range<Int>, name: String)?,
                 ticket: RoutingTable.Ticket) async {
        guard envelope.id != nil, let method = envelope.method else {
            routing.finish(ticket)
            return
        }
        // A backend's own request timeout counts from the request's arrival, like the host's.
        let deadline = config.requestTimeout.map { MonotonicClock.deadline(after: $0, from: ticket.started) } ?? ticket.deadline
        let left = MonotonicClock.seconds(nanoseconds: MonotonicClock.remaining(until: deadline, now: MonotonicClock.nanoseconds()))
        switch await ready(within: left, method: method) {
        case .success(let live):
            send(envelope, from: session, rename: rename, on: live, deadline: deadline, ticket: ticket)
        case .failure(let error):
            if routing.finish(ticket) { session.dropped(); return }
            session.reply(JSONRPC.error(id: envelope.idBytes, code: error.code, message: error.description))
        }
    }

    /// The live backend if it is ready now (the common case, decided without awaiting).
    var liveNow: Live? {
        control.withLock { $0.lifecycle.live }
    }

    /// Forwards a client's request to a ready backend without awaiting anything: the fast path.
    func forwardNow(_ envelope: Envelope, from session: ClientSession, rename: (range: Range<Int>, name: String)?, on live: Live) {
        send(envelope, from: session, rename: rename, on: live,
             deadline: MonotonicClock.deadline(after: requestTimeout, from: MonotonicClock.nanoseconds()), ticket: nil)
    }

    /// Registers the request in the table (within the per-client cap), sends it, then hands a
    /// routed request's ticket over (see RoutingTable: register first, then finish). Finishing
    /// after the send means a cancel that arrives meanwhile is sent after the request, never
    /// before it (the connection keeps its messages in order).
    private func send(_ envelope: Envelope, from session: ClientSession, rename: (range: Range<Int>, name: String)?, on live: Live,
                      deadline: UInt64, ticket: RoutingTable.Ticket?) {
        guard let idRange = envelope.id, let method = envelope.method else {
            if let ticket { routing.finish(ticket) }
            return
        }
        let progress = envelope.param("_meta", "progressToken")
        let cap = options.maxInFlightPerClient
        let registered: Int64? = mux.withLock { table in
            guard table.count(session: session.id) < cap else { return nil }
            lastActivity.store(MonotonicClock.nanoseconds(), ordering: .relaxed) // under the table's lock: see reapIfIdle
            return table.register(.init(waiter: .client(session), session: session.id, clientID: Array(envelope.bytes[idRange]),
                                        progressToken: progress.map { Array(envelope.bytes[$0.value]) }, deadline: deadline, method: method))
        }
        if registered != nil, !live.link.reaped.load(ordering: .acquiring) {
            usage.withLock { $0.recordRequest(now: MonotonicClock.nanoseconds()) }
        }
        guard let id = registered else {
            if let ticket, routing.finish(ticket) { session.dropped(); return }
            let error = BackendError.clientLimit(backend: name, limit: cap)
            session.reply(JSONRPC.error(id: envelope.idBytes, code: error.code, message: error.description))
            return
        }
        if let ticket, routing.isCancelled(ticket) {
            // Cancelled while it was being routed: never reaches the backend, never answered.
            routing.finish(ticket)
            if mux.withLock({ $0.complete(id) }) != nil { session.dropped() }
            return
        }
        if live.link.reaped.load(ordering: .acquiring) {
            // The reaper shut this connection down after this request saw it ready: start the
            // backend again for it, as for any request to a stopped backend.
            if mux.withLock({ $0.complete(id) }) != nil { restartFor(envelope, from: session, rename: rename, ticket: ticket, deadline: deadline) }
            return
        }
        let idText = Array(String(id).utf8)
        var edits = [ByteSplice.Edit(idRange, idText)]
        if let rename { edits.append(.init(rename.range, JSONString.encode(rename.name))) }
        if let progress { edits.append(.init(progress.value, idText)) }
        // A connection that ended after ready() returned has already failed its table; answer
        // now instead of letting this request wait for its deadline.
        let ended = live.link.isOver
        let status = ended ? MCPH_E_CLOSED : live.link.connection.send(ByteSplice.apply(edits, to: envelope.bytes))
        let cancelled = ticket.map { routing.finish($0) } ?? false
        if status == MCPH_E_CLOSED && !ended && !cancelled {
            // The transport takes no more input (a backend that exited: its stdin broke before
            // its terminal event arrived). The request stays in the table: the terminal event
            // fails it with the real reason and stops the backend, so the next request starts it
            // again, instead of every request meanwhile failing with "not connected" on a
            // connection still taken for ready. A connection that stays deaf without ending is
            // closed after a second (not at once: the plugin would then report our close rather
            // than the backend's own exit status).
            scheduleCloseOfDeafConnection(live.link)
            return
        }
        if status != MCPH_OK, let entry = mux.withLock({ $0.complete(id) }) {
            if cancelled { session.dropped(); return }
            let error: BackendError = status == MCPH_E_AGAIN ? .overloaded(backend: name) : .exited(backend: name, detail: Self.sendFailure(status))
            session.reply(JSONRPC.error(id: entry.clientID, code: error.code, message: error.description))
        } else if cancelled, mux.withLock({ $0.complete(id) }) != nil {
            // Cancelled between the check above and the hand-off: cancel it after the request.
            session.dropped()
            sendCancel(id, reason: "cancelled by the client")
        }
    }

    /// Why a message did not go out, from the transport's `send` status.
    static func sendFailure(_ status: mcph_status) -> String {
        switch status {
        case MCPH_E_CLOSED: return "is not connected"
        case MCPH_E_INVALID: return "refused the request: its transport plugin called it invalid (status \(status))"
        default: return "refused the request: its transport plugin's send failed (status \(status))"
        }
    }

    /// Closes and destroys a connection that finished its start after the backend was stopped or
    /// removed: it is no longer the backend's current one, so nothing else would end it.
    private func closeUnused(_ link: Link) {
        logger.info("closing a connection that finished starting after its backend was stopped")
        link.connection.close(graceMs: options.shutdownGraceMs)
        let bound = Double(options.shutdownGraceMs) / 1000 + 5
        Task {
            _ = await link.ended.value(timeout: bound, orElse: "")
            // destroy() joins the plugin's threads: never on the task pool.
            DedicatedThread.start(detached: true) {
                link.connection.destroy()
                link.destroyed.resolve(())
            }
        }
    }

    /// Waits (bounded by the shutdown grace) until connections being reaped are destroyed.
    private func waitForReaped() async {
        let bound = Double(options.shutdownGraceMs) / 1000 + 10
        for link in control.withLock({ $0.reaping }) {
            await link.destroyed.value(timeout: bound, orElse: ())
        }
    }

    /// Sends a request again through the start path (its connection was reaped meanwhile).
    private func restartFor(_ envelope: Envelope, from session: ClientSession, rename: (range: Range<Int>, name: String)?,
                            ticket: RoutingTable.Ticket?, deadline: UInt64) {
        guard let ticket = ticket ?? routing.begin(session: session.id, clientID: envelope.idBytes ?? JSONRPC.null, deadline: deadline) else {
            session.reply(JSONRPC.error(id: envelope.idBytes, code: JSONRPCErrorCode.backendUnavailable,
                                        message: "backend '\(name)' was shut down for being idle as the request arrived; try again"))
            return
        }
        Task { await self.forward(envelope, from: session, rename: rename, ticket: ticket) }
    }

    private func scheduleCloseOfDeafConnection(_ link: Link) {
        guard !link.closeScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let grace = options.shutdownGraceMs
        Task {
            try? await Task.sleep(for: .seconds(1))
            if !link.ended.isResolved { link.connection.close(graceMs: grace) }
        }
    }

    /// A client cancelled one of its requests: drop the mapping (a late response is discarded)
    /// and cancel it on the backend under the backend's id. Returns false if it was not here.
    func cancel(session: ClientSession, clientID: [UInt8], notification: Envelope) -> Bool {
        guard let (id, _) = finishing({ $0.cancel(session: session.id, clientID: clientID) }) else { return false }
        if let requestID = notification.param("requestId") {
            sendControl(ByteSplice.apply([.init(requestID.value, Array(String(id).utf8))], to: notification.bytes))
        } else {
            sendCancel(id, reason: "cancelled by the client")
        }
        return true
    }

    /// A session ended: cancel what it had in flight here.
    func sessionEnded(_ session: ClientSession) {
        for (id, entry) in finishing({ $0.removeSession(session.id) }) where entry.method != "initialize" {
            sendCancel(id, reason: "the client session ended")
        }
        for uri in subscriptions.uris(of: session.id) {
            subscriptions.leave(uri, session: session.id, subscriptionOperations)
        }
    }

    // MARK: - Subscriptions

    /// resources/subscribe: the backend is subscribed for the first subscriber (whose answer is the
    /// backend's; a refusal leaves nothing recorded); later subscribers are answered here.
    func subscribe(_ envelope: Envelope, uri: String, from session: ClientSession, ticket: RoutingTable.Ticket) async {
        let live: Live
        let left = MonotonicClock.seconds(nanoseconds: MonotonicClock.remaining(until: ticket.deadline, now: MonotonicClock.nanoseconds()))
        let started = await ready(within: left, method: "resources/subscribe")
        // From here on the request is the host's own business (answered below); a cancel that
        // arrived while it was routed drops it.
        if routing.finish(ticket) { session.dropped(); return }
        switch started {
        case .success(let l): live = l
        case .failure(let error):
            session.reply(JSONRPC.error(id: envelope.idBytes, code: error.code, message: error.description))
            return
        }
        guard live.canSubscribe else {
            session.reply(JSONRPC.error(id: envelope.idBytes, code: JSONRPCErrorCode.methodNotFound,
                                        message: "backend '\(name)' does not support resource subscriptions"))
            return
        }
        let waiter = subscriptions.join(uri, session: session.id, subscriptionOperations)
        // Join first, then check: a session that closed before this check is seen closed here;
        // one that closes after it runs sessionEnded, which finds the subscription recorded.
        if sessions.session(session.id) == nil {
            subscriptions.leave(uri, session: session.id, subscriptionOperations)
            session.dropped()
            return
        }
        let id = envelope.idBytes ?? JSONRPC.null
        guard let waiter else {
            session.reply(JSONRPC.result(id: id, result: Array("{}".utf8))) // the backend holds it already
            return
        }
        let remaining = MonotonicClock.seconds(nanoseconds: MonotonicClock.remaining(until: ticket.deadline, now: MonotonicClock.nanoseconds()))
        let outcome = await waiter.value(timeout: remaining, orElse: .failed(.timedOut(backend: self.name, method: "resources/subscribe", seconds: self.requestTimeout)))
        if !outcome.isSubscribed {
            // Not subscribed (refused, failed, or past this request's deadline): not recorded.
            subscriptions.leave(uri, session: session.id, subscriptionOperations)
        }
        switch outcome {
        case .subscribed(let result):
            session.reply(JSONRPC.result(id: id, result: result))
        case .refused(let error):
            session.reply(Array(#"{"jsonrpc":"2.0","id":"#.utf8) + id + Array(#","error":"#.utf8) + error + [UInt8(ascii: "}")])
        case .failed(let error):
            session.reply(JSONRPC.error(id: id, code: error.code, message: error.description))
        }
    }

    /// The backend side of subscriptions: the host's own requests, started by `Subscriptions`.
    private var subscriptionOperations: Subscriptions.Operations {
        Subscriptions.Operations(
            subscribe: { [weak self] uri in
                guard let self else { return .failed(.cancelled("mcp-host is shutting down")) }
                return await self.backendSubscribe(uri)
            },
            unsubscribe: { [weak self] uri in await self?.backendUnsubscribe(uri) },
            resubscribeFailed: { [weak self] uri, outcome in
                self?.logger.warning("the restarted backend did not take the subscription to \(uri) again (\(outcome)); its subscribers get no updates until they subscribe again")
            })
    }

    /// The backend's own subscribe for `uri` (starting the backend if needed).
    private func backendSubscribe(_ uri: String) async -> Subscriptions.Outcome {
        for attempt in 0..<2 {
            let live: Live
            switch await ready() {
            case .success(let l): live = l
            case .failure(let error): return .failed(error)
            }
            switch await request(on: live.link, method: "resources/subscribe", params: Self.uriParams(uri)) {
            case .success(let answer):
                if let error = answer.member("error") { return .refused(error: Array(answer.scanner.slice(error.value))) }
                return .subscribed(result: answer.member("result").map { Array(answer.scanner.slice($0.value)) } ?? Array("{}".utf8))
            case .failure where attempt == 0 && live.link.reaped.load(ordering: .acquiring):
                continue // reaped as the worker started: start it again
            case .failure(let error):
                return .failed(error)
            }
        }
        return .failed(.exited(backend: name, detail: "was shut down for being idle as it was subscribed"))
    }

    /// The backend's own unsubscribe for `uri`, on the current connection if there is one (a
    /// stopped backend holds no subscription).
    private func backendUnsubscribe(_ uri: String) async {
        guard let live = liveNow else { return }
        _ = await request(on: live.link, method: "resources/unsubscribe", params: Self.uriParams(uri))
    }

    /// resources/unsubscribe: the backend is unsubscribed when the last subscriber leaves, as the
    /// host's own request (no client's cap or cancel can stop it); the client is answered at once.
    func unsubscribe(_ envelope: Envelope, uri: String, from session: ClientSession, ticket: RoutingTable.Ticket) {
        if routing.finish(ticket) { session.dropped(); return }
        subscriptions.leave(uri, session: session.id, subscriptionOperations)
        session.reply(JSONRPC.result(id: envelope.idBytes ?? JSONRPC.null, result: Array("{}".utf8)))
    }

    static func uriParams(_ uri: String) -> [UInt8] {
        Array(#"{"uri":"#.utf8) + JSONString.encode(uri) + [UInt8(ascii: "}")]
    }

    /// Fails requests whose deadline passed: the client gets an error, the backend a cancel.
    func expire(now: UInt64) {
        let due = finishing { $0.expire(now: now) }
        for (id, entry) in due {
            logger.warning("request timed out", metadata: ["method": "\(entry.method)", "session": "\(entry.session)"])
            answer([entry], with: .timedOut(backend: name, method: entry.method, seconds: requestTimeout))
            if entry.method != "initialize" { sendCancel(id, reason: "request timed out in mcp-host") }
        }
    }

    /// Answers requests that will get no response from the backend: clients get a JSON-RPC error,
    /// the host's own waiters the error itself.
    private func answer(_ entries: [PendingTable<Waiter>.Entry], with error: BackendError) {
        for entry in entries {
            switch entry.waiter {
            case .client(let session): session.reply(JSONRPC.error(id: entry.clientID, code: error.code, message: error.description))
            case .host(let waiter): waiter.resolve(.failure(error))
            }
        }
    }

    private func sendCancel(_ id: Int64, reason: String) {
        sendControl(JSONRPC.notification(method: "notifications/cancelled",
                                         params: Array(#"{"requestId":\#(id),"reason":"#.utf8) + JSONString.encode(reason) + [UInt8(ascii: "}")]))
    }

    /// A client's answer to a request this backend sent, already carrying the backend's id: sent
    /// only on the connection the request came on (a restarted process may reuse the id).
    func answerClientRequest(_ route: ServerRequests.Route, _ message: [UInt8]) {
        guard control.withLock({ $0.link === route.link }) else {
            logger.debug("a client's answer dropped: the backend's connection that asked has ended")
            return
        }
        _ = route.link.connection.sendControl(message)
    }

    /// A request this backend sent to a client will get no answer from it: answer it here.
    func clientRequestFailed(_ route: ServerRequests.Route, code: Int, message: String) {
        answerClientRequest(route, JSONRPC.error(id: route.backendID, code: code, message: "mcp-host: \(message)"))
    }

    /// Sends a control message (a cancel, an answer) on the current connection. Control messages
    /// are never dropped for back-pressure: the connection queues them until the plugin is writable.
    private func sendControl(_ message: [UInt8]) {
        guard let link = control.withLock({ $0.link }) else { return }
        _ = link.connection.sendControl(message)
    }

    // MARK: - Lists

    /// Fetches a kind's complete list (following backend pagination), renamed by the router.
    /// Concurrent callers share one fetch; the result is stored in the catalog and, when the host
    /// keeps a catalog cache, in the cache. `startIfNeeded: false` (the cache's own refreshes)
    /// lists only a running backend, never starting one.
    func listTask(_ kind: ItemKind, router: Router, order: [String], startIfNeeded: Bool = true) -> Task<Result<Catalog.Items, BackendError>, Never> {
        control.withLock { control in
            // A fetch that began before a list_changed is not joined: it may miss the change.
            let generation = catalog.generation(kind, of: name)
            if let running = control.listTasks[kind], running.generation == generation { return running.task }
            let task = Task { () -> Result<Catalog.Items, BackendError> in
                // A list_changed during the fetch advances the generation: the stored list stays stale.
                let result = await self.fetch(kind, router: router, startIfNeeded: startIfNeeded)
                if case .success(let items) = result { self.stored(kind, items, order: order, generation: generation) }
                self.control.withLock { control in
                    if control.listTasks[kind]?.generation == generation { control.listTasks[kind] = nil }
                }
                return result
            }
            control.listTasks[kind] = (generation, task)
            return task
        }
    }

    /// Stores a fetched list in the catalog. Clients that were shown cached items of this kind
    /// that differ get `list_changed`; the catalog cache is updated (if it differs).
    private func stored(_ kind: ItemKind, _ items: Catalog.Items, order: [String], generation: UInt64) {
        let shown = catalog.isCached(kind, of: name) ? catalog.lastKnownItems(kind, of: name)?.elements : nil
        // Stored under the control lock, where a reload marks the backend removed before it
        // clears its items: a removed backend's late list never comes back into the catalog.
        let newlyHidden = control.withLock { control -> [Catalog.Hidden]? in
            if case .removed = control.lifecycle.phase { return nil }
            return catalog.store(kind, backend: name, items: items, order: order, generation: generation)
        }
        guard let newlyHidden else { return }
        for hidden in newlyHidden {
            logger.warning("\(kind.noun) '\(hidden.name)' of backend '\(hidden.backend)' is hidden: a backend earlier in order (by server name) exposes the same name")
        }
        if let shown, shown != items.elements {
            logger.info("the backend's \(kind.noun)s differ from the cached ones clients were shown: sending list_changed")
            sessions.broadcast(JSONRPC.notification(method: "notifications/\(kind.capability)/list_changed", params: nil))
        }
        catalogRefresh?.cache.save(server: name, lists: catalog.listedItems(of: name))
    }

    private func fetch(_ kind: ItemKind, router: Router, startIfNeeded: Bool) async -> Result<Catalog.Items, BackendError> {
        guard startIfNeeded else {
            guard let live = liveNow else { return .failure(.exited(backend: name, detail: "is not running, so its list is not refreshed")) }
            return await fetch(kind, router: router, on: live)
        }
        for attempt in 0..<2 {
            let live: Live
            switch await ready() {
            case .success(let l): live = l
            case .failure(let error): return .failure(error)
            }
            let result = await fetch(kind, router: router, on: live)
            // Reaped between ready() and the request (the reaper skips backends with a running
            // list task, but one replaced by a newer fetch is no longer recorded): once more,
            // which starts the backend again.
            if case .failure = result, attempt == 0, live.link.reaped.load(ordering: .acquiring) { continue }
            return result
        }
        return .failure(.exited(backend: name, detail: "was shut down for being idle while it was listed"))
    }

    private func fetch(_ kind: ItemKind, router: Router, on live: Live) async -> Result<Catalog.Items, BackendError> {
        var items = Catalog.Items()
        guard live.capabilities.contains(kind.capability) else { return .success(items) }
        var cursor: [UInt8]?
        for _ in 0..<1000 {
            let params = cursor.map { Array(#"{"cursor":"#.utf8) + $0 + [UInt8(ascii: "}")] }
            let envelope: Envelope
            switch await request(on: live.link, method: kind.listMethod, params: params) {
            case .success(let e): envelope = e
            case .failure(let error): return .failure(error)
            }
            let scanner = envelope.scanner
            if let error = envelope.member("error") {
                return .failure(.rejected(backend: name, method: kind.listMethod, message: String(decoding: scanner.slice(error.value), as: UTF8.self)))
            }
            guard let result = envelope.member("result"),
                  let array = try? scanner.member(kind.resultKey, inObject: result.value),
                  let elements = try? scanner.elements(ofArray: array.value) else {
                return .failure(.rejected(backend: name, method: kind.listMethod, message: "the result has no \"\(kind.resultKey)\" array"))
            }
            for element in elements { add(element, of: kind, from: scanner, to: &items, router: router) }
            cursor = (try? scanner.member("nextCursor", inObject: result.value)).flatMap { scanner.isString($0.value) ? Array(scanner.slice($0.value)) : nil }
            if cursor == nil { break }
        }
        return .success(items)
    }

    /// Renames one listed item and prefixes its description with `[backend] `, splicing only
    /// those two members so everything else (annotations, icons, _meta, unknown fields) stays.
    private func add(_ element: Range<Int>, of kind: ItemKind, from scanner: JSONScanner, to items: inout Catalog.Items, router: Router) {
        guard scanner.bytes[element.lowerBound] == UInt8(ascii: "{"),
              let nameMember = try? scanner.member(kind.nameKey, inObject: element),
              let original = scanner.string(at: nameMember.value) else {
            logger.warning("\(kind.noun) without a string \"\(kind.nameKey)\" skipped")
            return
        }
        items.listed.append(Array(scanner.slice(element)))
        guard let exposed = router.expose(kind, backend: name, name: original) else { return }
        var edits: [ByteSplice.Edit] = []
        if exposed != original { edits.append(.init(nameMember.value, JSONString.encode(exposed))) }
        if let description = try? scanner.member("description", inObject: element),
           let text = scanner.string(at: description.value) {
            edits.append(.init(description.value, JSONString.encode("[\(name)] " + text)))
        }
        let shifted = edits.map { ByteSplice.Edit(($0.range.lowerBound - element.lowerBound)..<($0.range.upperBound - element.lowerBound), $0.replacement) }
        guard items.names[exposed] == nil else {
            logger.warning("\(kind.noun) '\(original)' listed twice (as '\(exposed)'); the first is kept")
            return
        }
        items.elements.append(ByteSplice.apply(shifted, to: Array(scanner.slice(element))))
        items.exposed.append(exposed)
        items.names[exposed] = original
    }

    /// Items from the catalog cache (as the backend listed them), renamed as a fetch renames them.
    func cachedItems(_ kind: ItemKind, listed: [[UInt8]], router: Router) -> Catalog.Items {
        var items = Catalog.Items()
        for object in listed { add(0..<object.count, of: kind, from: JSONScanner(object), to: &items, router: router) }
        return items
    }

    /// The backend's lists of these kinds changed (its `list_changed`, or a new remote session):
    /// they are fetched again on the next list. With a catalog cache, a running backend is listed
    /// again at once, so that the cache follows (the next host would load the old list).
    private func listsChanged(_ kinds: [ItemKind]) {
        for kind in kinds { catalog.invalidate(kind, backend: name) }
        guard catalogRefresh != nil else { return }
        for kind in kinds where catalog.lastKnownItems(kind, of: name) != nil { refreshInBackground(kind) }
    }

    /// After a start: lists served from the catalog cache are listed again by the backend, which
    /// runs anyway; the cache is rewritten if they changed, and clients are told.
    private func refreshCachedLists() {
        guard catalogRefresh != nil else { return }
        for kind in catalog.cachedKinds(of: name) { refreshInBackground(kind) }
    }

    /// Kinds being refreshed in the background (at most one refresher each).
    private let refreshing = Locked<Set<ItemKind>>([])

    /// Lists `kind` again while it is stale or cached and the backend runs, at most three times in a
    /// row (a list_changed during a fetch leaves the list stale; a backend that keeps changing is
    /// listed again by the next client's list). Never starts the backend.
    private func refreshInBackground(_ kind: ItemKind) {
        guard let refresh = catalogRefresh, refreshing.withLock({ $0.insert(kind).inserted }) else { return }
        Task {
            for _ in 0..<3 {
                let due = catalog.items(kind, of: name) == nil || catalog.isCached(kind, of: name)
                guard due, liveNow != nil else { break }
                if case .failure(let error) = await listTask(kind, router: refresh.router, order: refresh.order(), startIfNeeded: false).value {
                    logger.debug("\(kind.listMethod) refresh for the catalog cache failed: \(error.description)")
                    break
                }
            }
            _ = refreshing.withLock { $0.remove(kind) }
        }
    }

    // MARK: - Messages from the backend

    /// A message from the backend. `related` is the id of the host's request on whose answer stream
    /// it came (ABI 1.3 `on_related_message`), which tells the client it belongs to.
    private func received(_ bytes: [UInt8], on link: Link, related: [UInt8]?) {
        guard !link.retired.load(ordering: .acquiring) else { return }
        let envelope: Envelope
        do {
            envelope = try Envelope.parse(bytes)
        } catch {
            let preview = String(decoding: bytes.prefix(200), as: UTF8.self)
            guard link.handshakeDone.load(ordering: .acquiring) else {
                logger.warning("ignoring non-JSON-RPC output before the handshake: \(preview)")
                return
            }
            protocolViolation(on: link, "wrote invalid JSON-RPC (\(error.message)): \(preview)")
            return
        }
        switch envelope.kind {
        case .response: deliverResponse(envelope)
        case .notification: deliverNotification(envelope, on: link, related: related)
        case .request: answerServerRequest(envelope, on: link, related: related)
        }
    }

    /// The request in flight here that a related message names (by the id the host sent it with).
    private func relatedEntry(_ related: [UInt8]) -> PendingTable<Waiter>.Entry? {
        guard let id = Int64(asciiDigits: related[...]) else { return nil }
        return mux.withLock { $0.entry(id) }
    }

    private func deliverResponse(_ envelope: Envelope) {
        guard let idRange = envelope.id, let id = Int64(asciiDigits: envelope.scanner.slice(idRange)),
              let entry = finishing({ $0.complete(id) }) else {
            logger.debug("response for an unknown or finished request dropped")
            return
        }
        switch entry.waiter {
        case .client(let session): session.reply(ByteSplice.apply([.init(idRange, entry.clientID)], to: envelope.bytes))
        case .host(let waiter): waiter.resolve(.success(envelope))
        }
    }

    private func deliverNotification(_ envelope: Envelope, on link: Link, related: [UInt8]?) {
        // A log message on a request's answer stream is about that request: only its client sees it.
        if envelope.method == "notifications/message", let related {
            guard let entry = relatedEntry(related), case .client(let session) = entry.waiter else {
                logger.debug("log message for an unknown, finished or host request dropped")
                return
            }
            let severity = envelope.param("level").flatMap { envelope.scanner.string(at: $0.value) }.flatMap(LogSeverity.init(name:)) ?? .info
            if session.state.withLock({ $0.initialized && severity >= $0.logLevel }) { session.send(envelope.bytes, relatedTo: entry.clientID) }
            return
        }
        switch envelope.method {
        case "notifications/progress":
            guard let token = envelope.param("progressToken"), let id = Int64(asciiDigits: envelope.scanner.slice(token.value)),
                  let entry = mux.withLock({ $0.progressTarget(id) }), case .client(let session) = entry.waiter,
                  let original = entry.progressToken else {
                logger.debug("progress for an unknown or finished request dropped")
                return
            }
            session.send(ByteSplice.apply([.init(token.value, original)], to: envelope.bytes))
        case "notifications/tools/list_changed":
            listsChanged([.tool])
            sessions.broadcast(envelope.bytes)
        case "notifications/prompts/list_changed":
            listsChanged([.prompt])
            sessions.broadcast(envelope.bytes)
        case "notifications/resources/list_changed":
            listsChanged([.resource, .resourceTemplate])
            sessions.broadcast(envelope.bytes)
        case "notifications/cancelled":
            // The backend withdrew a request it had sent to a client: tell that client, under its id.
            guard let requestID = envelope.param("requestId"),
                  let (id, route) = serverRequests.take(link: link, backendID: Array(envelope.bytes[requestID.value])) else { return }
            sessions.session(route.session)?.send(ByteSplice.apply([.init(requestID.value, JSONString.encode(id))], to: envelope.bytes))
        case "notifications/resources/updated":
            // Only to the clients subscribed to that URI.
            guard let uri = envelope.param("uri").flatMap({ envelope.scanner.string(at: $0.value) }) else { return }
            for id in subscriptions.subscribers(of: uri) { sessions.session(id)?.send(envelope.bytes) }
        case "notifications/message":
            // Backends are shared, so their own level is left alone; each client's is applied here.
            let severity = envelope.param("level").flatMap { envelope.scanner.string(at: $0.value) }.flatMap(LogSeverity.init(name:))
            sessions.broadcast(envelope.bytes, severity: severity ?? .info)
        default:
            logger.debug("notification not forwarded", metadata: ["method": "\(envelope.method ?? "")"])
        }
    }

    /// The client capability a backend request needs.
    static let requestCapabilities = ["sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots"]

    /// Requests from the backend. `ping` is answered here. Sampling, elicitation and roots go to the
    /// client whose request caused them, if it declared the capability and can receive requests
    /// now. That client is known for sure when the transport says on which request's answer stream
    /// the request came (`related`: an HTTP backend's POST stream); otherwise it is the only session
    /// with requests in flight on this backend. When that is not clear (no such session, or
    /// several), the backend gets an error: showing one client's prompt to another would leak its
    /// data, so mcp-host never guesses.
    private func answerServerRequest(_ envelope: Envelope, on link: Link, related: [UInt8]?) {
        let method = envelope.method ?? ""
        guard let idRange = envelope.id else { return }
        let id = Array(envelope.bytes[idRange])
        func refuse(_ code: Int, _ message: String) {
            logger.warning("refused \(method) from the backend: \(message)")
            _ = link.connection.sendControl(JSONRPC.error(id: id, code: code, message: "mcp-host: \(message)"))
        }
        if method == "ping" {
            _ = link.connection.sendControl(JSONRPC.result(id: id, result: Array("{}".utf8)))
            return
        }
        guard let capability = Self.requestCapabilities[method] else {
            return refuse(JSONRPCErrorCode.methodNotFound, "'\(method)' is not routed to clients")
        }
        let candidates: Set<UInt64>
        var clientID: [UInt8]?
        if let related {
            guard let entry = relatedEntry(related) else {
                return refuse(JSONRPCErrorCode.backendUnavailable, "the request it belongs to is finished or unknown")
            }
            guard entry.session != 0 else {
                return refuse(JSONRPCErrorCode.methodNotFound, "\(method) during mcp-host's own \(entry.method) is not sent to any client")
            }
            candidates = [entry.session]
            clientID = entry.clientID
        } else {
            candidates = mux.withLock { $0.sessions() }
        }
        guard candidates.count == 1, let session = candidates.first.flatMap(sessions.session) else {
            return refuse(JSONRPCErrorCode.backendUnavailable, candidates.isEmpty
                ? "no client has a request in flight on this backend, so none can answer \(method)"
                : "\(candidates.count) clients have requests in flight on this backend; \(method) is not sent to a guessed one")
        }
        guard session.state.withLock({ $0.capabilities.contains(capability) }) else {
            return refuse(JSONRPCErrorCode.methodNotFound, "the client did not declare the \(capability) capability")
        }
        guard session.canReceiveRequests() else {
            return refuse(JSONRPCErrorCode.backendUnavailable, "the client has no open stream to receive \(method)")
        }
        let deadline = MonotonicClock.deadline(after: options.requestTimeout, from: MonotonicClock.nanoseconds())
        let hostID = serverRequests.add(.init(backend: self, link: link, backendID: id, session: session.id, deadline: deadline, method: method))
        // Add first, then check: a session that closed meanwhile has already swept its routes.
        if sessions.session(session.id) == nil, serverRequests.take(hostID, session: session.id) != nil {
            return refuse(JSONRPCErrorCode.backendUnavailable, "the client's session ended")
        }
        let request = ByteSplice.apply([.init(idRange, JSONString.encode(hostID))], to: envelope.bytes)
        if let clientID { session.send(request, relatedTo: clientID) } else { session.send(request) }
    }

    // MARK: - Connection events

    private func handle(_ event: ConnectionEvent, on link: Link) {
        switch event {
        case .opened(let pid, let detail):
            link.openedAs.withLock { $0 = (pid, detail) }
            if pid > 0 { logger.info("backend started", metadata: ["pid": "\(pid)"]) }
            link.opened.resolve(.success(()))
        case .writable:
            break
        case .sessionReset:
            sessionReset(on: link)
        case .ended(let failed, let code, let detail):
            let what = failed ? detail : (detail.isEmpty ? "closed" : detail)
            link.opened.resolve(.failure(.startFailed(backend: name, reason: what)))
            link.ended.resolve(what)
            connectionEnded(link, detail: failed ? what : "closed the connection (\(what), status \(code))")
        }
    }

    /// The transport lost the remote session and made a new one (ABI 1.3): the remote end forgot
    /// its subscriptions and may list other items now. Requests in flight were settled by the
    /// transport (retried or answered with an error), so none is failed here.
    private func sessionReset(on link: Link) {
        let live = control.withLock { control -> Live? in
            guard let live = control.lifecycle.live, live.link === link else { return nil }
            return live
        }
        guard let live, !link.retired.load(ordering: .acquiring) else { return }
        logger.warning("the backend's remote session was lost and set up again: restoring subscriptions, refreshing lists")
        // What the lost session asked clients is void (the new session reuses its ids): tell each
        // client, and drop the routes so a late answer never reaches a request of the new session.
        for (hostID, route) in serverRequests.removeLink(link) {
            sessions.session(route.session)?.send(JSONRPC.notification(
                method: "notifications/cancelled",
                params: Array(#"{"requestId":"#.utf8) + JSONString.encode(hostID) + Array(#","reason":"the backend's remote session was lost"}"#.utf8)))
        }
        if live.canSubscribe { subscriptions.restarted(subscriptionOperations) }
        listsChanged(ItemKind.allCases)
        for list in ["tools", "prompts", "resources"] {
            sessions.broadcast(JSONRPC.notification(method: "notifications/\(list)/list_changed", params: nil))
        }
    }

    private func protocolViolation(on link: Link, _ detail: String) {
        logger.error("\(detail); failing its requests and restarting it on next use")
        link.connection.close(graceMs: options.shutdownGraceMs)
        connectionEnded(link, detail: detail)
    }

    /// The connection is gone or unusable: fail everything in flight at once, naming the backend.
    private func connectionEnded(_ link: Link, detail: String) {
        let isCurrent = control.withLock { control -> Bool in
            guard control.link === link else { return false }
            link.retired.store(true, ordering: .releasing)
            control.lifecycle.connectionEnded(detail, now: MonotonicClock.nanoseconds(),
                                              unexpected: !control.shuttingDown && !detail.hasPrefix("closed"))
            control.link = nil
            return true
        }
        guard isCurrent else { return }
        let error = BackendError.exited(backend: name, detail: detail)
        let failed = mux.withLock { $0.removeAll() }
        if !failed.isEmpty || !detail.hasPrefix("closed") { logger.warning("backend connection ended: \(detail)") }
        answer(failed.map(\.entry), with: error)
        // What this connection asked clients is void: tell each client, and drop the routes so a
        // late answer never reaches a restarted process under an id it may have reused.
        for (hostID, route) in serverRequests.removeLink(link) {
            sessions.session(route.session)?.send(JSONRPC.notification(
                method: "notifications/cancelled",
                params: Array(#"{"requestId":"#.utf8) + JSONString.encode(hostID) + Array(#","reason":"the backend's connection ended"}"#.utf8)))
        }
        // destroy() joins the plugin's threads, so it must not run on the callback's thread.
        DedicatedThread.start(detached: true) {
            link.ended.resolve(detail)
            link.connection.destroy()
            link.destroyed.resolve(())
        }
    }

    // MARK: - Reaping

    /// Takes requests out of the table and marks the backend active now, under the table's lock,
    /// so the reaper (which decides under the same lock) never sees an empty table with an old
    /// activity time.
    private func finishing<T>(_ body: (inout PendingTable<Waiter>) -> T) -> T {
        mux.withLock { table in
            let before = table.count
            let result = body(&table)
            if table.count != before { lastActivity.store(MonotonicClock.nanoseconds(), ordering: .relaxed) }
            return result
        }
    }

    /// The idle timeout in force now (nil: never) and its tier.
    public func idleTimeout(now: UInt64 = MonotonicClock.nanoseconds()) -> (seconds: Double?, tier: String) {
        usage.withLock { $0.idleTimeout(config.idle, now: now) }
    }

    /// What `/health` and `mcp-host status` show about this backend.
    public func status(now: UInt64 = MonotonicClock.nanoseconds()) -> BackendStatus {
        let inFlight = self.inFlight
        let served = usage.withLock { $0.served }
        let (timeout, tier) = idleTimeout(now: now)
        return control.withLock { control in
            let lifecycle = control.lifecycle
            let opened: (pid: Int32, detail: String) = control.link?.openedAs.withLock { $0 } ?? (0, "")
            let backoff = lifecycle.backoffRemaining(now: now)
            // A back-off that has run out is a stopped backend: the next request starts it.
            let state = backoff == 0 ? "stopped" : lifecycle.stateName(idle: inFlight == 0)
            return BackendStatus(
                name: name, transport: config.transport,
                state: state,
                pid: lifecycle.live != nil && opened.pid > 0 ? opened.pid : nil,
                endpoint: lifecycle.live != nil && !opened.detail.isEmpty ? opened.detail : nil,
                uptimeSeconds: lifecycle.uptime(now: now),
                requestsServed: served, inFlight: inFlight,
                idleTimeoutSeconds: timeout, idleTier: tier,
                lastError: lifecycle.lastError?.message,
                lastErrorSecondsAgo: lifecycle.lastError.map { MonotonicClock.seconds(nanoseconds: MonotonicClock.elapsed(from: $0.at, to: now)) },
                backoffSeconds: backoff == 0 ? nil : backoff,
                starts: lifecycle.starts, reaps: lifecycle.reaps, crashes: lifecycle.crashes)
        }
    }

    /// Shuts the backend down if it is ready, idle past its idle timeout, and nothing holds it:
    /// no request in flight (clients' or the host's), no subscription, no request of its own
    /// awaiting a client. Its items stay listed; the next request starts it again. Returns whether
    /// it was reaped; the shutdown itself (close, grace, kill, destroy) goes on in the background.
    @discardableResult
    func reapIfIdle(now: UInt64) -> Bool {
        let stats = usage.withLock { $0 }
        guard stats.isDue(config.idle, idleSince: lastActivity.load(ordering: .relaxed), now: now) else { return false }
        var idleSince: UInt64 = 0
        let link = control.withLock { control -> Link? in
            // Nothing holds it: no list being fetched, no subscription (or subscribe/unsubscribe
            // under way), no request of its own awaiting a client.
            guard let live = control.lifecycle.live, !control.shuttingDown else { return nil }
            let holds = Lifecycle.Holds(subscriptions: subscriptions.entryCount, awaitingClient: serverRequests.has(link: live.link),
                                        operations: !control.listTasks.isEmpty)
            guard !holds.any else { return nil }
            // Decided under the table's lock, with the activity time read there too: a request
            // registered after this sees `retired` and `reaped` and goes through the start path
            // again (see `send`).
            let idle = mux.withLock { table -> Bool in
                idleSince = lastActivity.load(ordering: .relaxed)
                var held = holds
                held.requests = table.count
                guard control.lifecycle.reapDue(now: MonotonicClock.nanoseconds(), idleSince: idleSince, holds: held,
                                                usage: stats, policy: config.idle) else { return false }
                live.link.reaped.store(true, ordering: .releasing)
                live.link.retired.store(true, ordering: .releasing)
                return true
            }
            guard idle else { return nil }
            control.lifecycle.reaped(now: now)
            control.link = nil
            control.reaping.append(live.link)
            return live.link
        }
        guard let link else { return false }
        let (timeout, tier) = idleTimeout(now: now)
        logger.info("reaping the idle backend", metadata: [
            "idle": "\(formatSeconds(MonotonicClock.seconds(nanoseconds: MonotonicClock.elapsed(from: idleSince, to: now))))s",
            "idle_timeout": "\(timeout.map { formatSeconds($0) + "s" } ?? "never") (\(tier))"])
        link.connection.close(graceMs: options.shutdownGraceMs)
        let bound = Double(options.shutdownGraceMs) / 1000 + 5
        Task {
            if await link.ended.value(timeout: bound, orElse: "") == "" {
                self.logger.error("reaped backend did not end within \(formatSeconds(bound)) s of the close request")
            }
            // destroy() joins the plugin's threads: never on the task pool.
            DedicatedThread.start(detached: true) {
                link.connection.destroy()
                link.destroyed.resolve(())
                self.control.withLock { control in
                    control.reaping.removeAll { $0 === link }
                    if control.reaping.isEmpty { control.lifecycle.reapFinished() }
                }
            }
        }
        return true
    }

    // MARK: - Shutdown

    /// Takes the backend out of service for a configuration reload that removed or changed its
    /// entry: no new request is admitted (they go to its successor, if any), requests in flight
    /// get up to the shutdown grace to finish, then it is shut down like at exit. Its items are
    /// never stored in the catalog again.
    /// Marks the backend removed at once (a reload took it out of the fleet): no new request is
    /// admitted and no list of it is stored any more. `retire` then lets its calls finish.
    func markRetired(reason: String) {
        control.withLock { $0.lifecycle.remove(reason: "backend '\(name)' \(reason)") }
    }

    func retire(reason: String) async {
        markRetired(reason: reason)
        let grace = Double(options.shutdownGraceMs) / 1000
        let deadline = MonotonicClock.deadline(after: grace, from: MonotonicClock.nanoseconds())
        while inFlight > 0, MonotonicClock.nanoseconds() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        logger.info("backend retired: \(reason)")
        await shutdown(reason: "backend '\(name)' \(reason)")
    }

    /// Stops the backend: fails what is in flight, closes gracefully, waits for the process tree.
    func shutdown(reason: String = "mcp-host is shutting down") async {
        let link = control.withLock { control -> Link? in
            control.shuttingDown = true
            control.lifecycle.remove(reason: reason)
            return control.link
        }
        await waitForReaped()
        let failed = mux.withLock { $0.removeAll() }
        let error = BackendError.cancelled(reason)
        answer(failed.map(\.entry), with: error)
        guard let link else { return }
        link.connection.close(graceMs: options.shutdownGraceMs)
        let bound = Double(options.shutdownGraceMs) / 1000 + 5
        if await link.ended.value(timeout: bound, orElse: "") == "" {
            logger.error("backend did not end within \(formatSeconds(bound)) s of the close request")
        }
        await link.destroyed.value(timeout: 5, orElse: ())
    }
}

extension Int64 {
    /// Parses a plain non-negative decimal integer (our backend-side ids and progress tokens).
    init?(asciiDigits bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value: Int64 = 0
        for b in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) else { return nil }
            value = value * 10 + Int64(b - UInt8(ascii: "0"))
        }
        self = value
    }
}
