#if canImport(Glibc)
import Glibc
#endif
import PluginAPI

// The C face of the CLI transport: the entry symbol, the descriptor and the transport table.
// All of it is built once (Swift globals initialise lazily and thread-safely) and never freed.

/// ABI 1.0 sizes of the growable structs this plugin reads from the host (the minimum accepted).
let callbacksV1Size = MemoryLayout<mcph_conn_callbacks>.offset(of: \.on_log)! + MemoryLayout<UnsafeRawPointer?>.size
let hostV1Size = MemoryLayout<mcph_host>.offset(of: \.get_interface)! + MemoryLayout<UnsafeRawPointer?>.size

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let descriptor: UnsafeMutablePointer<mcph_plugin_descriptor> = {
    let d = UnsafeMutablePointer<mcph_plugin_descriptor>.allocate(capacity: 1)
    d.initialize(to: mcph_plugin_descriptor(
        struct_size: UInt32(MemoryLayout<mcph_plugin_descriptor>.size),
        abi_major: UInt16(MCPH_ABI_MAJOR),
        abi_minor: UInt16(MCPH_ABI_MINOR),
        id: UnsafePointer(strdup("mcph.cli")),
        name: UnsafePointer(strdup("cli transport")),
        version: UnsafePointer(strdup("0.1.0")),
        description: UnsafePointer(strdup("Any command-line tool as an MCP server: tools discovered from its help, one run per call, under mcph-supervisor")),
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
        name: UnsafePointer(strdup("cli")),
        open: transportOpen,
        send: transportSend,
        close: transportClose,
        destroy: transportDestroy))
    return t
}()

@_cdecl("mcph_plugin_entry_v1")
public func mcphCLIEntry() -> UnsafePointer<mcph_plugin_descriptor>? {
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
        let plugin = try CLIPlugin.make(host: host)
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
    Unmanaged<CLIPlugin>.fromOpaque(state).release()
}

private func transportOpen(_ state: UnsafeMutableRawPointer?, _ config: UnsafePointer<CChar>?, _ length: Int,
                           _ callbacks: UnsafePointer<mcph_conn_callbacks>?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                           _ err: UnsafeMutablePointer<CChar>?, _ cap: Int) -> mcph_status {
    guard let state, let config, let callbacks, let out else {
        writeError("open: missing argument", err, cap)
        return MCPH_E_INVALID
    }
    let declared = UnsafeRawPointer(callbacks).load(as: UInt32.self)
    guard Int(declared) >= callbacksV1Size else {
        writeError("open: mcph_conn_callbacks struct_size \(declared) is smaller than ABI 1.0's (\(callbacksV1Size) bytes)", err, cap)
        return MCPH_E_INVALID
    }
    var table = mcph_conn_callbacks()
    mcph_struct_copy(&table, MemoryLayout<mcph_conn_callbacks>.size, callbacks, Int(declared))
    let plugin = Unmanaged<CLIPlugin>.fromOpaque(state).takeUnretainedValue()
    do {
        let parsed = try config.withMemoryRebound(to: UInt8.self, capacity: length) {
            try CLIConfig.parse(UnsafeBufferPointer(start: $0, count: length))
        }
        let connection = try CLIConnection.make(plugin: plugin, config: parsed, callbacks: table)
        out.pointee = Unmanaged.passRetained(connection).toOpaque()
        connection.start()
        return MCPH_OK
    } catch {
        writeError("\(error)", err, cap)
        return MCPH_E_INVALID
    }
}

private func transportSend(_ conn: UnsafeMutableRawPointer?, _ message: mcph_bytes) -> mcph_status {
    defer { message.release?(message.release_ctx, message.ptr, message.len) }
    guard let conn else { return MCPH_E_INVALID }
    let connection = Unmanaged<CLIConnection>.fromOpaque(conn).takeUnretainedValue()
    return connection.send(UnsafeBufferPointer(start: message.ptr, count: message.len))
}

private func transportClose(_ conn: UnsafeMutableRawPointer?, _ graceMs: UInt32) -> mcph_status {
    guard let conn else { return MCPH_E_INVALID }
    Unmanaged<CLIConnection>.fromOpaque(conn).takeUnretainedValue().close(graceMs: Int(graceMs))
    return MCPH_OK
}

private func transportDestroy(_ conn: UnsafeMutableRawPointer?) {
    guard let conn else { return }
    let connection = Unmanaged<CLIConnection>.fromOpaque(conn).takeRetainedValue()
    connection.destroy()
}
