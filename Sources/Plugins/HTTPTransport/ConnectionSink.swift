import Locking
import PluginAPI

/// The host's callbacks for one connection, made safe to call from NIO's event loop threads and
/// Swift tasks at once.
///
/// - `on_message`, `on_related_message` and `on_event` run under one delivery lock, so they are
///   serialized per connection as the ABI requires, and nothing is delivered after the terminal
///   event (FAILED or CLOSED, at most one) or after `markDestroyed`.
/// - `on_log` runs under a gate of its own (the ABI allows it from any thread), closed by
///   `markDestroyed`, so no callback at all runs once `destroy` returned.
///
/// `@unchecked Sendable`: `callbacks` is immutable; the host's functions may be called from any
/// thread (serialized where the ABI asks, which the locks do); the rest is behind `Locked`.
final class ConnectionSink: @unchecked Sendable {
    private let callbacks: mcph_conn_callbacks
    /// Whether the host gave `on_related_message` (a 1.3 host or newer, and not NULL).
    let supportsRelated: Bool
    /// The host's ABI minor: SESSION_RESET needs 3 or more.
    let hostMinor: Int

    private struct DeliveryState {
        var terminalSent = false
        var destroyed = false
    }
    private let delivery = Locked(DeliveryState())
    private let logGate = Locked(false) // true once destroyed

    init(callbacks: mcph_conn_callbacks, declaredSize: Int, hostMinor: Int) {
        self.callbacks = callbacks
        self.supportsRelated = declaredSize >= callbacksV13Size && callbacks.on_related_message != nil
        self.hostMinor = hostMinor
    }

    /// Delivers one message from the remote end: through `on_related_message` with `relatedTo`
    /// when given and the host supports it, else through `on_message`. `unless` is evaluated under
    /// the delivery lock (a cancelled request's messages are dropped without a race). Returns
    /// false when nothing was delivered.
    @discardableResult
    func message(_ bytes: [UInt8], relatedTo id: [UInt8]? = nil, unless skip: (() -> Bool)? = nil) -> Bool {
        delivery.withLock { state in
            if state.terminalSent || state.destroyed { return false }
            if let skip, skip() { return false }
            bytes.withUnsafeBufferPointer { buffer in
                let message = mcph_bytes(ptr: buffer.baseAddress, len: buffer.count, release: nil, release_ctx: nil)
                if let id, supportsRelated, let related = callbacks.on_related_message {
                    id.withUnsafeBufferPointer { related(callbacks.ctx, message, $0.baseAddress, $0.count) }
                } else {
                    callbacks.on_message(callbacks.ctx, message)
                }
            }
            return true
        }
    }

    /// A non-terminal event (OPENED, WRITABLE, SESSION_RESET).
    @discardableResult
    func event(_ event: mcph_conn_event, detail: String = "") -> Bool {
        delivery.withLock { state in
            if state.terminalSent || state.destroyed { return false }
            call(event, code: 0, detail: detail)
            return true
        }
    }

    /// The terminal event; true when this call sent it (exactly one per connection).
    @discardableResult
    func terminal(_ event: mcph_conn_event, code: Int32, detail: String) -> Bool {
        delivery.withLock { state in
            if state.terminalSent || state.destroyed { return false }
            state.terminalSent = true
            call(event, code: code, detail: detail)
            return true
        }
    }

    /// Runs `body` under the delivery lock (to order a state change against deliveries).
    func serialized<T>(_ body: () -> T) -> T {
        delivery.withLock { _ in body() }
    }

    func log(_ level: mcph_log_level, _ text: String) {
        var text = text
        logGate.withLock { destroyed in
            if destroyed { return }
            text.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { callbacks.on_log(callbacks.ctx, level, $0.baseAddress, $0.count) }
            }
        }
    }

    /// After this returns no callback runs again.
    func markDestroyed() {
        delivery.withLock { $0.destroyed = true }
        logGate.withLock { $0 = true }
    }

    private func call(_ event: mcph_conn_event, code: Int32, detail: String) {
        var detail = detail
        detail.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { callbacks.on_event(callbacks.ctx, event, code, $0.baseAddress, $0.count) }
        }
    }
}
