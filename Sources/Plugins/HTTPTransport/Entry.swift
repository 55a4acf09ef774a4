#if canImport(Glibc)
import Glibc
#endif
import PluginAPI

// The C face of the HTTP transport: the entry symbol, the descriptor and the transport table.
// All of it is built once (Swift globals initialise lazily and thread-safely) and never freed.

/// ABI 1.0 sizes of the growable structs this plugin reads from the host (the minimum accepted),
/// and the 1.3 size of the callbacks (from which on `on_related_message` is present).
let callbacksV1Size = MemoryLayout<mcph_conn_callbacks>.offset(of: \.on_log)! + MemoryLayout<UnsafeRawPointer?>.size
let callbacksV13Size = MemoryLayout<mcph_conn_callbacks>.offset(of: \.on_related_message)! + MemoryLayout<UnsafeRawPointer?>.size
let hostV1Size = MemoryLayout<mcph_host>.offset(of: \.get_interface)! + MemoryLayout<UnsafeRawPointer?>.size

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let descriptor: UnsafeMutablePointer<mcph_plugin_descriptor> = {
    let d = UnsafeMutablePointer<mcph_plugin_descriptor>.allocate(capacity: 1)
    d.initialize(to: mcph_plugin_descriptor(
        struct_size: UInt32(MemoryLayout<mcph_plugin_descriptor>.size),
        abi_major: UInt16(MCPH_ABI_MAJOR),
        abi_minor: UInt16(MCPH_ABI_MINOR),
        id: UnsafePointer(strdup("mcph.http")),
        name: UnsafePointer(strdup("http transport")),
        version: UnsafePointer(strdup("0.1.0")),
        description: UnsafePointer(strdup("Remote MCP servers over Streamable HTTP (with legacy HTTP+SSE fallback), on AsyncHTTPClient")),
        kinds: UInt32(MCPH_KIND_TRANSPORT),
        init: pluginInit,
        get_interface: pluginGetInterface,
        deinit: pluginDeinit,
        reconfigure: nil))
    return d
}()

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let transportTable: UnsafeMutablePointer<mcph_transport_v1> = {
    let t = UnsafeMutablePointer<mcph_transport_v1>.allocate(capacity: 1)
    t.initialize(to: mcph_transport_v1(
        struct_size: UInt32(MemoryLayout<mcph_transport_v1>.size),
        name: UnsafePointer(strdup("http")),
        open: transportOpen,
        send: transportSend,
        close: transportClose,
        destroy: transportDestroy))
    return t
}()

@_cdecl("mcph_plugin_entry_v1")
public func mcphHTTPEntry() -> UnsafePointer<mcph_plugin_descriptor>? {
    UnsafePointer(descriptor)
}

private func writeError(_ message: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) {
    guard let buffer, capacity > 0 else { return }
    let bytes = Array(message.utf8.prefix(capacity - 1))
    for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[bytes.count] = 0
}

private func pluginInit(_ host: UnsafePointer<mcph_host>?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                        _ err: UnsafeMutablePointer<CChar>?, _ cap: Int) -> mcph_status {
    guard let host, let out else { return MCPH_E_INVALID }
    do {
        let plugin = try HTTPPlugin.make(host: host)
        out.pointee = Unmanaged.passRetained(plugin).toOpaque()
        return MCPH_OK
    } catch {
        writeError("\(error)", err, cap)
        return MCPH_E_FAILED
    }
}

private func pluginGetInterface(_ state: UnsafeMutableRawPointer?, _ id: UnsafePointer<CChar>?) -> UnsafeRawPointer? {
    guard let id, strcmp(id, MCPH_IFACE_TRANSPORT_V1) == 0 else { return nil }
    return UnsafeRawPointer(transportTable)
}

private func pluginDeinit(_ state: UnsafeMutableRawPointer?) {
    guard let state else { return }
    Unmanaged<HTTPPlugin>.fromOpaque(state).release()
}

private func transportOpen(_ state: UnsafeMutableRawPointer?, _ config: UnsafePointer<CChar>?, _ length: Int,
                           _ callbacks: UnsafePointer<mcph_conn_callbacks>?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                           _ err: UnsafeMutablePointer<CChar>?, _ cap: Int) -> mcph_status {
    guard let state, let config, let callbacks, let out, length >= 0 else {
        writeError("open: missing argument", err, cap)
        return MCPH_E_INVALID
    }
    // Growable struct: accept the 1.0 size and up, copy no more than the host declared (fields
    // past it, such as a 1.0 host's on_related_message, read as absent).
    let declared = Int(UnsafeRawPointer(callbacks).load(as: UInt32.self))
    guard declared >= callbacksV1Size else {
        writeError("open: mcph_conn_callbacks struct_size \(declared) is smaller than ABI 1.0's (\(callbacksV1Size) bytes)", err, cap)
        return MCPH_E_INVALID
    }
    var table = mcph_conn_callbacks()
    mcph_struct_copy(&table, MemoryLayout<mcph_conn_callbacks>.size, callbacks, declared)
    let plugin = Unmanaged<HTTPPlugin>.fromOpaque(state).takeUnretainedValue()
    let bytes = config.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    switch HTTPConnection.make(plugin: plugin, config: bytes, callbacks: table, callbacksSize: declared) {
    case .success(let connection):
        out.pointee = Unmanaged.passRetained(connection).toOpaque()
        connection.start()
        return MCPH_OK
    case .failure(let error):
        writeError(error.description, err, cap)
        return MCPH_E_INVALID
    }
}

private func transportSend(_ conn: UnsafeMutableRawPointer?, _ message: mcph_bytes) -> mcph_status {
    defer { message.release?(message.release_ctx, message.ptr, message.len) }
    guard let conn else { return MCPH_E_INVALID }
    let connection = Unmanaged<HTTPConnection>.fromOpaque(conn).takeUnretainedValue()
    return connection.send(UnsafeBufferPointer(start: message.ptr, count: message.len))
}

private func transportClose(_ conn: UnsafeMutableRawPointer?, _ graceMs: UInt32) -> mcph_status {
    guard let conn else { return MCPH_E_INVALID }
    Unmanaged<HTTPConnection>.fromOpaque(conn).takeUnretainedValue().close(graceMs: Int(graceMs))
    return MCPH_OK
}

private func transportDestroy(_ conn: UnsafeMutableRawPointer?) {
    guard let conn else { return }
    let connection = Unmanaged<HTTPConnection>.fromOpaque(conn).takeRetainedValue()
    connection.destroy()
}
