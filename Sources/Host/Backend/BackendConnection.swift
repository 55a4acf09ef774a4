import Locking
import Logging
import PluginAPI
import Synchronization

/// A transport event, in the host's terms.
public enum ConnectionEvent: Sendable, Equatable {
    case opened
    case writable
    /// Terminal: the connection failed or closed; `code` is e.g. the exit status.
    case ended(failed: Bool, code: Int32, detail: String)
}

/// One open connection of a transport plugin, seen from the host.
///
/// The plugin calls back (`on_message`, `on_event`, `on_log`) from its own threads; the handlers
/// only parse and enqueue, never block. `send` calls are serialized per connection, as the ABI
/// requires, by a lock held only for the plugin's non-blocking `send`.
///
/// `@unchecked Sendable`: the handle is guarded by `handle` (a Mutex); everything else is immutable.
final class BackendConnection: @unchecked Sendable {
    let transport: TransportPlugin
    let logger: Logger
    fileprivate let onMessage: @Sendable ([UInt8]) -> Void
    fileprivate let onEvent: @Sendable (ConnectionEvent) -> Void
    private let handle = Locked<ConnectionHandle?>(nil)
    private var selfReference: Unmanaged<BackendConnection>?

    init(transport: TransportPlugin, logger: Logger,
         onMessage: @escaping @Sendable ([UInt8]) -> Void, onEvent: @escaping @Sendable (ConnectionEvent) -> Void) {
        self.transport = transport
        self.logger = logger
        self.onMessage = onMessage
        self.onEvent = onEvent
    }

    /// Asks the plugin to open; events follow through `onEvent`. Control path.
    func open(config: [UInt8]) throws(BackendError) {
        let reference = Unmanaged.passRetained(self)
        var callbacks = mcph_conn_callbacks(
            struct_size: UInt32(MemoryLayout<mcph_conn_callbacks>.size),
            ctx: reference.toOpaque(),
            on_message: connectionMessage,
            on_event: connectionEvent,
            on_log: connectionLog)
        var error = [CChar](repeating: 0, count: 1024)
        var conn: UnsafeMutableRawPointer?
        let status = config.withUnsafeBufferPointer { json in
            json.withMemoryRebound(to: CChar.self) { text in
                transport.table.pointee.open(transport.plugin.state, text.baseAddress, text.count, &callbacks, &conn, &error, error.count)
            }
        }
        guard status == MCPH_OK, let conn else {
            reference.release()
            throw .openFailed(String(cBuffer: error))
        }
        selfReference = reference
        handle.withLock { $0 = ConnectionHandle(pointer: conn) }
    }

    /// Hands one message to the plugin (which copies it). Never blocks.
    func send(_ message: [UInt8]) -> mcph_status {
        handle.withLock { conn in
            guard let conn else { return MCPH_E_CLOSED }
            return message.withUnsafeBufferPointer { buffer in
                transport.table.pointee.send(conn.pointer, mcph_bytes(ptr: buffer.baseAddress, len: buffer.count, release: nil, release_ctx: nil))
            }
        }
    }

    /// Begins an orderly close; a terminal event follows within the grace.
    func close(graceMs: UInt32) {
        // Under the lock, so that a concurrent destroy() cannot free the connection meanwhile
        // (close never blocks, per the ABI).
        handle.withLock { conn in
            guard let conn else { return }
            _ = transport.table.pointee.close(conn.pointer, graceMs)
        }
    }

    /// Frees the plugin's connection; no callback runs after this returns. Blocks until the
    /// plugin's threads are done: call it from a dedicated thread, never from a callback.
    func destroy() {
        let conn = handle.withLock { current -> ConnectionHandle? in defer { current = nil }; return current }
        guard let conn else { return }
        transport.table.pointee.destroy(conn.pointer)
        selfReference?.release()
        selfReference = nil
    }
}

/// A plugin's connection pointer. `@unchecked Sendable`: the plugin owns what it points to and
/// its functions state their own threading rules; the host only passes it back.
struct ConnectionHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

private func connection(_ ctx: UnsafeMutableRawPointer?) -> BackendConnection? {
    ctx.map { Unmanaged<BackendConnection>.fromOpaque($0).takeUnretainedValue() }
}

private func connectionMessage(_ ctx: UnsafeMutableRawPointer?, _ message: mcph_bytes) {
    defer { message.release?(message.release_ctx, message.ptr, message.len) }
    guard let connection = connection(ctx), let ptr = message.ptr else { return }
    connection.onMessage(Array(UnsafeBufferPointer(start: ptr, count: message.len)))
}

private func connectionEvent(_ ctx: UnsafeMutableRawPointer?, _ event: mcph_conn_event, _ code: Int32,
                             _ detail: UnsafePointer<CChar>?, _ length: Int) {
    guard let connection = connection(ctx) else { return }
    switch event {
    case MCPH_EVENT_OPENED: connection.onEvent(.opened)
    case MCPH_EVENT_WRITABLE: connection.onEvent(.writable)
    case MCPH_EVENT_FAILED, MCPH_EVENT_CLOSED:
        connection.onEvent(.ended(failed: event == MCPH_EVENT_FAILED, code: code, detail: borrowedText(detail, length)))
    default:
        connection.logger.debug("unknown transport event \(event) ignored")
    }
}

private func connectionLog(_ ctx: UnsafeMutableRawPointer?, _ level: mcph_log_level, _ message: UnsafePointer<CChar>?, _ length: Int) {
    guard let connection = connection(ctx) else { return }
    connection.logger.log(level: Logger.Level(abi: level), "\(borrowedText(message, length))")
}
