#if canImport(Glibc)
import Glibc
#endif
import PluginAPI
import PluginKit

// The C face of the CLI transport: the entry symbol, the descriptor and the transport table.
// All of it is built once (Swift globals initialise lazily and thread-safely) and never freed.

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let descriptor = makeDescriptor(
    id: "mcph.cli", name: "cli transport", version: "0.1.0",
    description: "Any command-line tool as an MCP server: tools discovered from its help, one run per call, under mcph-supervisor",
    kinds: UInt32(MCPH_KIND_TRANSPORT),
    init: { initPlugin($0, $1, $2, $3, CLIPlugin.make) },
    getInterface: { _, id in interface(id, MCPH_IFACE_TRANSPORT_V1, transportTable) },
    deinit: { releasePlugin($0, as: CLIPlugin.self) })

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let transportTable = makeTransportTable(
    name: "cli", open: transportOpen,
    send: { connectionSend($0, $1, CLIConnection.self) },
    close: { connectionClose($0, $1, CLIConnection.self) },
    destroy: { connectionDestroy($0, CLIConnection.self) })

extension CLIConnection: TransportConnection {}

@_cdecl("mcph_plugin_entry_v1")
public func mcphCLIEntry() -> UnsafePointer<mcph_plugin_descriptor>? {
    UnsafePointer(descriptor)
}

private func transportOpen(_ state: UnsafeMutableRawPointer?, _ config: UnsafePointer<CChar>?, _ length: Int,
                           _ callbacks: UnsafePointer<mcph_conn_callbacks>?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                           _ err: UnsafeMutablePointer<CChar>?, _ cap: Int) -> mcph_status {
    guard let state, let config, let callbacks, let out else {
        writeError("open: missing argument", err, cap)
        return MCPH_E_INVALID
    }
    guard let table = copyCallbacks(callbacks, err, cap)?.table else { return MCPH_E_INVALID }
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
