#if canImport(Glibc)
import Glibc
#endif
import PluginAPI
import PluginKit
import ProcessSupport

// The C face of the stdio transport: the entry symbol, the descriptor and the transport table.
// All of it is built once (Swift globals initialise lazily and thread-safely) and never freed.

/// Default grace for close stdin -> SIGTERM -> SIGKILL when the config does not say.
private let defaultGraceMs = 2000

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let descriptor = makeDescriptor(
    id: "mcph.stdio", name: "stdio transport", version: "0.1.0",
    description: "Runs a backend as a child process (one JSON message per line), under mcph-supervisor",
    kinds: UInt32(MCPH_KIND_TRANSPORT),
    init: { initPlugin($0, $1, $2, $3, StdioPlugin.make) },
    getInterface: { _, id in interface(id, MCPH_IFACE_TRANSPORT_V1, transportTable) },
    deinit: { releasePlugin($0, as: StdioPlugin.self) })

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let transportTable = makeTransportTable(
    name: "stdio", open: transportOpen,
    send: { connectionSend($0, $1, StdioConnection.self) },
    close: { connectionClose($0, $1, StdioConnection.self) },
    destroy: { connectionDestroy($0, StdioConnection.self) })

extension StdioConnection: TransportConnection {}

@_cdecl("mcph_plugin_entry_v1")
public func mcphStdioEntry() -> UnsafePointer<mcph_plugin_descriptor>? {
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
    let plugin = Unmanaged<StdioPlugin>.fromOpaque(state).takeUnretainedValue()
    do {
        let parsed = try config.withMemoryRebound(to: UInt8.self, capacity: length) {
            try StdioConfig.parse(UnsafeBufferPointer(start: $0, count: length))
        }
        // The host checks shutdownGraceMs (0...600000); clamp anyway so `graceMs + 1000` in the escalation cannot overflow.
        let grace = min(max(0, parsed.shutdownGraceMs ?? defaultGraceMs), 600_000)
        let process = try ProcessSpawner.spawn(supervisor: plugin.supervisorPath, lifeline: plugin.lifelineRead,
                                               graceMs: grace / 2,
                                               request: SpawnRequest(command: parsed.command, args: parsed.args ?? [], env: parsed.env ?? [:], cwd: parsed.cwd))
        let connection = StdioConnection(name: parsed.name ?? parsed.command, callbacks: table,
                                         process: process, graceMs: grace / 2)
        out.pointee = Unmanaged.passRetained(connection).toOpaque()
        connection.start()
        return MCPH_OK
    } catch {
        writeError("\(error)", err, cap)
        return MCPH_E_INVALID
    }
}
