#if canImport(Glibc)
import Glibc
#endif
import Locking
import Logging
import PluginAPI

/// A transport event, in the host's terms.
public enum ConnectionEvent: Sendable, Equatable {
    /// Ready for messages; `pid` is the process the transport started (0: none) and `detail` a
    /// description of the connection (ABI 1.3).
    case opened(pid: Int32, detail: String)
    case writable
    /// The remote end lost its session and the transport set up a new one (ABI 1.3): what was
    /// asked of the backend after the handshake (subscriptions) is forgotten.
    case sessionReset
    /// Terminal: the connection failed or closed; `code` is e.g. the exit status.
    case ended(failed: Bool, code: Int32, detail: String)
}

/// One open connection of a transport plugin, seen from the host.
///
/// The plugin calls back (`on_message`, `on_event`, `on_log`) from its own threads; the handlers
/// only parse and enqueue, never block.
///
/// Every message goes through a host-side **outbox** (FIFO per connection), drained by one thread
/// at a time, so the plugin's `send` calls are serialized per connection as the ABI requires:
/// - usually the sending thread drains it at once (the queue was empty: one append, one pop);
/// - when the plugin answers `MCPH_E_AGAIN`, the message and everything after it stay queued, in
///   order, until the plugin's `MCPH_EVENT_WRITABLE`, which restarts the drain;
/// - inside one of a plugin's callbacks (the core answering a backend's `ping`, or closing on a
///   protocol violation, on the plugin's thread) nothing calls the plugin: the message (or the
///   close) is queued and drained on another thread, keeping the per-connection order. The ABI
///   promises the host never re-enters a plugin from its callbacks.
///
/// Bounds: an ordinary request (`send`) is refused with `MCPH_E_AGAIN` once `outboxLimit`
/// messages are queued (the core answers that client "overloaded"). Control messages
/// (`sendControl`: cancellations, answers to the backend's requests, `initialized`, unsubscribe)
/// are never refused; if `controlLimit` messages pile up all the same, the backend is not reading
/// at all: the connection is closed (its requests fail, the backend restarts on next use) rather
/// than grow without bound.
///
/// `@unchecked Sendable`: `handle` and `outbox` are `Locked`; everything else is immutable.
final class BackendConnection: @unchecked Sendable {
    static let defaultOutboxLimit = 1024

    let transport: TransportPlugin
    let logger: Logger
    /// Queued messages past which `send` (ordinary requests) answers `MCPH_E_AGAIN`.
    let outboxLimit: Int
    /// Queued messages past which the connection is closed as wedged (control messages included).
    let controlLimit: Int
    /// A message and, when it came on the answer stream of one of the host's requests (ABI 1.3
    /// `on_related_message`), that request's id as the host sent it.
    fileprivate let onMessage: @Sendable (_ message: [UInt8], _ relatedID: [UInt8]?) -> Void
    fileprivate let onEvent: @Sendable (ConnectionEvent) -> Void
    /// The plugin's connection. Held across each call of the plugin's `send` and `close` (both
    /// non-blocking), so `destroy` never frees the connection under them.
    private let handle = Locked<ConnectionHandle?>(nil)
    private let outbox = Locked(Outbox())

    init(transport: TransportPlugin, logger: Logger, outboxLimit: Int = BackendConnection.defaultOutboxLimit,
         onMessage: @escaping @Sendable (_ message: [UInt8], _ relatedID: [UInt8]?) -> Void, onEvent: @escaping @Sendable (ConnectionEvent) -> Void) {
        self.transport = transport
        self.logger = logger
        self.outboxLimit = max(1, outboxLimit)
        self.controlLimit = max(4096, self.outboxLimit.multipliedReportingOverflow(by: 16).overflow ? Int.max : self.outboxLimit * 16)
        self.onMessage = onMessage
        self.onEvent = onEvent
    }

    /// Asks the plugin to open; events follow through `onEvent`. Control path: serialized with the
    /// plugin's other opens and destroys (it may wait for one of them).
    func open(config: [UInt8]) throws(BackendError) {
        let reference = Unmanaged.passRetained(self)
        var callbacks = mcph_conn_callbacks(
            struct_size: UInt32(MemoryLayout<mcph_conn_callbacks>.size),
            ctx: reference.toOpaque(),
            on_message: connectionMessage,
            on_event: connectionEvent,
            on_log: connectionLog,
            on_related_message: connectionRelatedMessage)
        var error = [CChar](repeating: 0, count: 1024)
        var conn: UnsafeMutableRawPointer?
        let status = transport.plugin.withControl { control -> mcph_status in
            let status = config.withUnsafeBufferPointer { json in
                json.withMemoryRebound(to: CChar.self) { text in
                    transport.table.open(transport.plugin.state, text.baseAddress, text.count, &callbacks, &conn, &error, error.count)
                }
            }
            if status == MCPH_OK, conn != nil { control.connections += 1 }
            return status
        }
        guard let status else {
            reference.release()
            outbox.withLock { $0.discardAll() }
            throw .openFailed("plugin '\(transport.plugin.info.id)' has been shut down")
        }
        guard status == MCPH_OK, let conn else {
            reference.release()
            outbox.withLock { $0.discardAll() }
            throw .openFailed(String(cBuffer: error))
        }
        handle.withLock { $0 = ConnectionHandle(pointer: conn, reference: reference) }
        // Messages sent before open returned (after an early OPENED) waited for the handle.
        let drainNow = outbox.withLock { outbox -> Bool in
            outbox.opening = false
            return outbox.startDrainIfIdle()
        }
        if drainNow { _ = drain() }
    }

    /// Hands one ordinary request to the plugin (which copies it). Never blocks. `MCPH_OK` means
    /// sent or kept in order in the outbox; `MCPH_E_AGAIN` means refused (the outbox is at its
    /// bound: answer the client "overloaded"); `MCPH_E_CLOSED` means the connection is gone.
    func send(_ message: [UInt8]) -> mcph_status {
        submit(message, control: false)
    }

    /// Hands one control message to the plugin: a cancellation, an answer to the backend's
    /// request, `notifications/initialized`, an unsubscribe. Never dropped while the connection
    /// lives (kept in order through back-pressure); returns `MCPH_E_CLOSED` once it is gone.
    @discardableResult
    func sendControl(_ message: [UInt8]) -> mcph_status {
        submit(message, control: true)
    }

    /// Begins an orderly close; a terminal event follows within the grace. Inside a plugin callback
    /// the close is run on another thread after the messages queued before it.
    func close(graceMs: UInt32) {
        if PluginCallbackScope.isActive {
            enum Deferred { case none, drain, close }
            let deferred = outbox.withLock { outbox -> Deferred in
                // Blocked and idle: no drain runs before a WRITABLE that may never come, and a
                // close does not wait for one.
                if outbox.blocked && !outbox.draining { return .close }
                outbox.pendingClose = min(outbox.pendingClose ?? graceMs, graceMs)
                return outbox.startDrainIfIdle() ? .drain : .none
            }
            switch deferred {
            case .none: break
            case .drain: scheduleDrain()
            case .close: Task.detached { [self] in self.closeNow(graceMs: graceMs) }
            }
            return
        }
        closeNow(graceMs: graceMs)
    }

    /// Frees the plugin's connection; no callback runs after this returns. Blocks until the
    /// plugin's threads are done, and is serialized with the plugin's opens and destroys: call it
    /// from a dedicated thread, never from a callback or the task pool.
    func destroy() {
        outbox.withLock { $0.discardAll() }
        guard let conn = handle.withLock({ current -> ConnectionHandle? in defer { current = nil }; return current }) else { return }
        _ = transport.plugin.withControl { control in
            transport.table.destroy(conn.pointer)
            control.connections -= 1
        }
        conn.reference.release()
    }

    /// Messages held in the outbox (waiting for the plugin's WRITABLE, or for a drain).
    var queuedMessages: Int { outbox.withLock { $0.count } }

    // MARK: - The outbox

    private enum Submission {
        case done(mcph_status)
        case drainHere
        case drainElsewhere
        case wedged(Int)
    }

    private func submit(_ message: [UInt8], control: Bool) -> mcph_status {
        let inCallback = PluginCallbackScope.isActive
        let submission = outbox.withLock { outbox -> Submission in
            if outbox.discarded { return .done(MCPH_E_CLOSED) }
            if !control && outbox.count >= outboxLimit { return .done(MCPH_E_AGAIN) }
            if outbox.count >= controlLimit { return .wedged(outbox.count) }
            outbox.append(.init(bytes: message, control: control))
            guard outbox.startDrainIfIdle() else { return .done(MCPH_OK) }
            return inCallback ? .drainElsewhere : .drainHere
        }
        switch submission {
        case .done(let status):
            return status
        case .drainHere:
            return drain()
        case .drainElsewhere:
            scheduleDrain()
            return MCPH_OK
        case .wedged(let count):
            logger.error("the backend takes no input: \(count) messages are held back for it; closing the connection (it restarts on next use)")
            close(graceMs: 0)
            return MCPH_E_AGAIN
        }
    }

    /// Drains on another thread (never the plugin's callback thread).
    private func scheduleDrain() {
        Task.detached { [self] in _ = self.drain() }
    }

    private enum AfterRefusal {
        case retry, wait, close(UInt32)
    }

    private enum Step {
        case send(Outbox.Item, writableEvents: UInt64)
        case close(UInt32)
        case stop
    }

    /// Sends queued messages in order until the queue is empty, the plugin answers E_AGAIN, or the
    /// connection is gone. Only the thread that set `draining` runs it. Returns the status of the
    /// first message it handled (E_AGAIN is reported as OK: the message is kept), for the caller
    /// whose message started the drain.
    private func drain() -> mcph_status {
        var first: mcph_status?
        while true {
            let step = outbox.withLock { outbox -> Step in
                if outbox.discarded || outbox.opening { outbox.draining = false; return .stop }
                if let item = outbox.first { return .send(item, writableEvents: outbox.writableEvents) }
                if let grace = outbox.pendingClose { outbox.pendingClose = nil; return .close(grace) }
                outbox.draining = false
                return .stop
            }
            switch step {
            case .stop:
                return first ?? MCPH_OK
            case .close(let grace):
                closeNow(graceMs: grace)
            case .send(let item, let seen):
                let status = handle.withLock { conn -> mcph_status in
                    guard let conn else { return MCPH_E_CLOSED }
                    return PluginWatchdog.watch(transport.plugin.info.id, "send", logger: logger) {
                        item.bytes.withUnsafeBufferPointer { buffer in
                            transport.table.send(conn.pointer, mcph_bytes(ptr: buffer.baseAddress, len: buffer.count, release: nil, release_ctx: nil))
                        }
                    }
                }
                if first == nil { first = status == MCPH_E_AGAIN ? MCPH_OK : status }
                if status == MCPH_E_AGAIN {
                    let next = outbox.withLock { outbox -> AfterRefusal in
                        // A WRITABLE that came while the plugin was refusing: try again at once.
                        if outbox.writableEvents != seen { return .retry }
                        outbox.blocked = true
                        outbox.draining = false
                        guard let grace = outbox.pendingClose else { return .wait }
                        outbox.pendingClose = nil
                        return .close(grace)
                    }
                    switch next {
                    case .retry: continue
                    case .wait: return first ?? MCPH_OK
                    case .close(let grace):
                        closeNow(graceMs: grace) // a close does not wait for WRITABLE
                        return first ?? MCPH_OK
                    }
                }
                outbox.withLock { $0.removeFirst() }
                if status != MCPH_OK && status != MCPH_E_CLOSED {
                    logger.warning("transport '\(transport.name)' refused a message (status \(status)); it is dropped")
                }
            }
        }
    }

    /// Tells the outbox the plugin can take messages again; restarts the drain elsewhere.
    fileprivate func writable() {
        let drainElsewhere = outbox.withLock { outbox -> Bool in
            outbox.writableEvents &+= 1
            outbox.blocked = false
            return outbox.startDrainIfIdle()
        }
        if drainElsewhere { scheduleDrain() }
    }

    private func closeNow(graceMs: UInt32) {
        // A close asked for while `open` has not returned yet is run right after it (`open` sets
        // the handle before it clears `opening`, and drains a pending close).
        let deferred = outbox.withLock { outbox -> Bool in
            guard outbox.opening, !outbox.discarded else { return false }
            outbox.pendingClose = min(outbox.pendingClose ?? graceMs, graceMs)
            return true
        }
        guard !deferred else { return }
        // Under the lock, so that a concurrent destroy() cannot free the connection meanwhile
        // (close never blocks, per the ABI).
        handle.withLock { conn in
            guard let conn else { return }
            _ = PluginWatchdog.watch(transport.plugin.info.id, "close", logger: logger) { transport.table.close(conn.pointer, graceMs) }
        }
    }
}

/// The host-side queue of one connection. Pure state; `BackendConnection` holds it in a lock.
struct Outbox {
    struct Item {
        let bytes: [UInt8]
        /// Control messages are never refused (see `BackendConnection`).
        let control: Bool
    }

    private var items: [Item] = []
    private var head = 0
    /// The plugin said E_AGAIN and has not sent WRITABLE since.
    var blocked = false
    /// A thread is draining (the only one allowed to call the plugin's `send`).
    var draining = false
    /// `open` has not returned yet: messages wait for the connection handle.
    var opening = true
    /// The connection is being destroyed or never opened: nothing is queued any more.
    private(set) var discarded = false
    /// WRITABLE events seen so far (detects one arriving while a send is refused).
    var writableEvents: UInt64 = 0
    /// A close requested inside a callback, run after the messages queued before it.
    var pendingClose: UInt32?

    var count: Int { items.count - head }
    var first: Item? { head < items.count ? items[head] : nil }

    mutating func append(_ item: Item) { items.append(item) }

    mutating func removeFirst() {
        guard head < items.count else { return }
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: items.count <= 64)
            head = 0
        } else if head >= 1024 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
    }

    /// Marks a drain as started if there is work, none runs, and the plugin is not refusing.
    mutating func startDrainIfIdle() -> Bool {
        guard !draining, !blocked, !opening, !discarded, count > 0 || pendingClose != nil else { return false }
        draining = true
        return true
    }

    mutating func discardAll() {
        discarded = true
        items.removeAll()
        head = 0
        pendingClose = nil
    }
}

/// Whether the current thread is inside a plugin's callback (`on_message`, `on_event`, `on_log`).
/// A thread-local depth: the host must not call into a plugin from there (ABI "Re-entrancy").
enum PluginCallbackScope {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    static var isActive: Bool { pthread_getspecific(key) != nil }

    static func run<Result>(_ body: () -> Result) -> Result {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: Int(bitPattern: previous) &+ 1))
        defer { pthread_setspecific(key, previous) }
        return body()
    }
}

/// A plugin's connection pointer and the host's reference that its callbacks' `ctx` stands for.
/// `@unchecked Sendable`: the plugin owns what `pointer` points to and its functions state their
/// own threading rules; the host only passes it back. `reference` is released once, by `destroy`.
struct ConnectionHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let reference: Unmanaged<BackendConnection>
}

private func connection(_ ctx: UnsafeMutableRawPointer?) -> BackendConnection? {
    ctx.map { Unmanaged<BackendConnection>.fromOpaque($0).takeUnretainedValue() }
}

private func connectionMessage(_ ctx: UnsafeMutableRawPointer?, _ message: mcph_bytes) {
    defer { message.release?(message.release_ctx, message.ptr, message.len) }
    // `len` is a size_t imported as Int: a plugin writing more than Int.max makes it negative.
    guard let connection = connection(ctx), let ptr = message.ptr, message.len >= 0 else { return }
    let bytes = Array(UnsafeBufferPointer(start: ptr, count: message.len))
    PluginCallbackScope.run { connection.onMessage(bytes, nil) }
}

private func connectionRelatedMessage(_ ctx: UnsafeMutableRawPointer?, _ message: mcph_bytes,
                                      _ relatedID: UnsafePointer<UInt8>?, _ relatedLength: Int) {
    defer { message.release?(message.release_ctx, message.ptr, message.len) }
    guard let connection = connection(ctx), let ptr = message.ptr, message.len >= 0 else { return }
    let bytes = Array(UnsafeBufferPointer(start: ptr, count: message.len))
    // An id the host sent is short; anything else (absent, negative, huge) is no correlation.
    let related = relatedID.flatMap { pointer in
        (1...64).contains(relatedLength) ? Array(UnsafeBufferPointer(start: pointer, count: relatedLength)) : nil
    }
    PluginCallbackScope.run { connection.onMessage(bytes, related) }
}

private func connectionEvent(_ ctx: UnsafeMutableRawPointer?, _ event: mcph_conn_event, _ code: Int32,
                             _ detail: UnsafePointer<CChar>?, _ length: Int) {
    guard let connection = connection(ctx) else { return }
    PluginCallbackScope.run {
        switch event {
        case MCPH_EVENT_OPENED: connection.onEvent(.opened(pid: max(0, code), detail: borrowedText(detail, length)))
        case MCPH_EVENT_WRITABLE:
            connection.writable()
            connection.onEvent(.writable)
        case MCPH_EVENT_SESSION_RESET: connection.onEvent(.sessionReset)
        case MCPH_EVENT_FAILED, MCPH_EVENT_CLOSED:
            connection.onEvent(.ended(failed: event == MCPH_EVENT_FAILED, code: code, detail: borrowedText(detail, length)))
        default:
            connection.logger.debug("unknown transport event \(event) ignored")
        }
    }
}

private func connectionLog(_ ctx: UnsafeMutableRawPointer?, _ level: mcph_log_level, _ message: UnsafePointer<CChar>?, _ length: Int) {
    guard let connection = connection(ctx) else { return }
    PluginCallbackScope.run { connection.logger.log(level: Logger.Level(abi: level), "\(borrowedText(message, length))") }
}
