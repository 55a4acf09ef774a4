#if canImport(Glibc)
import Glibc
#endif
import PluginAPI

// What the C functions of the bundled Swift plugins have in common: the state they hand the host
// (a retained object behind an opaque pointer), the growable structs they copy from it, and the
// buffers they write into.

/// ABI 1.0 sizes of the growable structs a plugin reads from the host (the minimum accepted).
public let callbacksV1Size = MemoryLayout<mcph_conn_callbacks>.offset(of: \.on_log)! + MemoryLayout<UnsafeRawPointer?>.size
public let hostV1Size = MemoryLayout<mcph_host>.offset(of: \.get_interface)! + MemoryLayout<UnsafeRawPointer?>.size

// MARK: - Plugin state

/// `init`: the plugin's state made by `make` from the host's table, retained for the host until
/// `deinit` (see `releasePlugin`). A thrown error's text goes to `err` (MCPH_E_FAILED).
public func initPlugin<State: AnyObject>(_ host: UnsafePointer<mcph_host>?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                         _ err: UnsafeMutablePointer<CChar>?, _ cap: Int,
                                         _ make: (UnsafePointer<mcph_host>) throws -> State) -> mcph_status {
    guard let host, let out else { return MCPH_E_INVALID }
    do {
        let plugin = try make(host)
        out.pointee = Unmanaged.passRetained(plugin).toOpaque()
        return MCPH_OK
    } catch {
        writeError("\(error)", err, cap)
        return MCPH_E_FAILED
    }
}

/// `deinit`: gives up the reference `initPlugin` retained.
public func releasePlugin<State: AnyObject>(_ state: UnsafeMutableRawPointer?, as type: State.Type) {
    guard let state else { return }
    Unmanaged<State>.fromOpaque(state).release()
}

/// The host's `mcph_host` is smaller than ABI 1.0's.
public struct HostTableError: Error, CustomStringConvertible {
    public let description: String
}

/// A copy of the host's table: at most its declared struct_size (fields past it, from an older
/// host, read as absent); one smaller than ABI 1.0's is refused.
public func copyHost(_ pointer: UnsafePointer<mcph_host>) throws(HostTableError) -> mcph_host {
    let declared = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
    guard declared >= hostV1Size else {
        throw HostTableError(description: "the host's mcph_host struct_size \(declared) is smaller than ABI 1.0's (\(hostV1Size) bytes)")
    }
    var host = mcph_host()
    mcph_struct_copy(&host, MemoryLayout<mcph_host>.size, pointer, declared)
    return host
}

// MARK: - Connections

/// A transport's connection as its `send`, `close` and `destroy` see it.
public protocol TransportConnection: AnyObject {
    /// Queues one message (borrowed for the call); never blocks.
    func send(_ message: UnsafeBufferPointer<UInt8>) -> mcph_status
    func close(graceMs: Int)
    /// The last call: the host's reference is given up right before.
    func destroy()
}

/// `open`'s copy of the host's callbacks: at most their declared struct_size (fields past it read
/// as absent), and that size; nil, with the reason in `err`, when it is smaller than ABI 1.0's.
public func copyCallbacks(_ callbacks: UnsafePointer<mcph_conn_callbacks>, _ err: UnsafeMutablePointer<CChar>?,
                          _ cap: Int) -> (table: mcph_conn_callbacks, declared: Int)? {
    let declared = Int(UnsafeRawPointer(callbacks).load(as: UInt32.self))
    guard declared >= callbacksV1Size else {
        writeError("open: mcph_conn_callbacks struct_size \(declared) is smaller than ABI 1.0's (\(callbacksV1Size) bytes)", err, cap)
        return nil
    }
    var table = mcph_conn_callbacks()
    mcph_struct_copy(&table, MemoryLayout<mcph_conn_callbacks>.size, callbacks, declared)
    return (table, declared)
}

/// `send`: hands the message to the connection, then releases it (the receiver's duty).
public func connectionSend<Connection: TransportConnection>(_ conn: UnsafeMutableRawPointer?, _ message: mcph_bytes,
                                                            _ type: Connection.Type) -> mcph_status {
    defer { message.release?(message.release_ctx, message.ptr, message.len) }
    guard let conn else { return MCPH_E_INVALID }
    let connection = Unmanaged<Connection>.fromOpaque(conn).takeUnretainedValue()
    return connection.send(UnsafeBufferPointer(start: message.ptr, count: message.len))
}

/// `close`.
public func connectionClose<Connection: TransportConnection>(_ conn: UnsafeMutableRawPointer?, _ graceMs: UInt32,
                                                             _ type: Connection.Type) -> mcph_status {
    guard let conn else { return MCPH_E_INVALID }
    Unmanaged<Connection>.fromOpaque(conn).takeUnretainedValue().close(graceMs: Int(graceMs))
    return MCPH_OK
}

/// `destroy`: takes back the reference `open` retained for the host.
public func connectionDestroy<Connection: TransportConnection>(_ conn: UnsafeMutableRawPointer?, _ type: Connection.Type) {
    guard let conn else { return }
    let connection = Unmanaged<Connection>.fromOpaque(conn).takeRetainedValue()
    connection.destroy()
}

// MARK: - Text and buffers

/// A NUL-terminated message in the host's error buffer, cut to fit.
public func writeError(_ message: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) {
    guard let buffer, capacity > 0 else { return }
    let bytes = Array(message.utf8.prefix(capacity - 1))
    for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[bytes.count] = 0
}

/// Writes `value` into a caller's buffer per the mcph_buf rules (len = the full size, even when
/// it does not fit).
public func write(_ value: String, to buffer: UnsafeMutablePointer<mcph_buf>?) -> Bool {
    guard let buffer else { return false }
    let bytes = Array(value.utf8)
    buffer.pointee.len = bytes.count
    guard bytes.count <= buffer.pointee.cap, let destination = buffer.pointee.ptr else { return false }
    for (i, b) in bytes.enumerated() { destination[i] = CChar(bitPattern: b) }
    return true
}

/// The `length` bytes at `pointer` (borrowed, not NUL-terminated).
public func bytes(_ pointer: UnsafePointer<CChar>, _ length: Int) -> [UInt8] {
    guard length > 0 else { return [] }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
}

/// The `length` bytes at `pointer` as text (invalid UTF-8 repaired); "" for none.
public func string(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
    guard let pointer, length > 0 else { return "" }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
}
