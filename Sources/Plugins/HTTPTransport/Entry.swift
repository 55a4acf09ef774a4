#if canImport(Glibc)
import Glibc
#endif
import PluginAPI
import PluginKit

// The C face of the HTTP transport: the entry symbol, the descriptor and the transport table.
// All of it is built once (Swift globals initialise lazily and thread-safely) and never freed.

/// The 1.3 size of the callbacks (from which on `on_related_message` is present); the 1.0 sizes
/// are PluginKit's.
let callbacksV13Size = MemoryLayout<mcph_conn_callbacks>.offset(of: \.on_related_message)! + MemoryLayout<UnsafeRawPointer?>.size

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let descriptor = makeDescriptor(
    id: "mcph.http", name: "http transport", version: "0.1.0",
    description: "Remote MCP servers over Streamable HTTP (with legacy HTTP+SSE fallback), on AsyncHTTPClient",
    kinds: UInt32(MCPH_KIND_TRANSPORT),
    init: { initPlugin($0, $1, $2, $3, HTTPPlugin.make) },
    getInterface: { _, id in interface(id, MCPH_IFACE_TRANSPORT_V1, transportTable) },
    deinit: { releasePlugin($0, as: HTTPPlugin.self) })

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let transportTable = makeTransportTable(
    name: "http", open: transportOpen,
    send: { connectionSend($0, $1, HTTPConnection.self) },
    close: { connectionClose($0, $1, HTTPConnection.self) },
    destroy: { connectionDestroy($0, HTTPConnection.self) })

extension HTTPConnection: TransportConnection {}

@_cdecl("mcph_plugin_entry_v1")
public func mcphHTTPEntry() -> UnsafePointer<mcph_plugin_descriptor>? {
    UnsafePointer(descriptor)
}

private func transportOpen(_ state: UnsafeMutableRawPointer?, _ config: UnsafePointer<CChar>?, _ length: Int,
                           _ callbacks: UnsafePointer<mcph_conn_callbacks>?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                           _ err: UnsafeMutablePointer<CChar>?, _ cap: Int) -> mcph_status {
    guard let state, let config, let callbacks, let out, length >= 0 else {
        writeError("open: missing argument", err, cap)
        return MCPH_E_INVALID
    }
    // Fields past the declared size, such as a 1.0 host's on_related_message, read as absent.
    guard let copied = copyCallbacks(callbacks, err, cap) else { return MCPH_E_INVALID }
    let (table, declared) = copied
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
