import PluginAPI

/// What a plugin's descriptor says about it.
public struct PluginInfo: Sendable, Equatable {
    public let id: String
    public let name: String
    public let version: String
    public let description: String
    public let abiMajor: UInt16
    public let abiMinor: UInt16
    public let kinds: UInt32
    public let path: String

    public var kindNames: [String] {
        var names: [String] = []
        if kinds & UInt32(MCPH_KIND_TRANSPORT) != 0 { names.append("transport") }
        if kinds & UInt32(MCPH_KIND_ROUTER) != 0 { names.append("router") }
        return names
    }
}

/// A loaded, initialised plugin. Never unloaded.
///
/// `@unchecked Sendable`: the pointers are written once at load time and only read afterwards;
/// the plugin's state is the plugin's to synchronise (the ABI states each function's threading).
public final class LoadedPlugin: @unchecked Sendable {
    public let info: PluginInfo
    let descriptor: UnsafePointer<mcph_plugin_descriptor>
    let state: UnsafeMutableRawPointer?

    init(info: PluginInfo, descriptor: UnsafePointer<mcph_plugin_descriptor>, state: UnsafeMutableRawPointer?) {
        self.info = info
        self.descriptor = descriptor
        self.state = state
    }
}

/// A plugin's `mcph.transport/1` table. `@unchecked Sendable`: immutable after load; the table is
/// static in the plugin.
public final class TransportPlugin: @unchecked Sendable {
    public let plugin: LoadedPlugin
    let table: UnsafePointer<mcph_transport_v1>
    public let name: String

    init(plugin: LoadedPlugin, table: UnsafePointer<mcph_transport_v1>, name: String) {
        self.plugin = plugin
        self.table = table
        self.name = name
    }
}

/// A plugin's `mcph.router/1` table. `@unchecked Sendable`: immutable after load; router
/// functions are thread-safe by contract.
public final class RouterPlugin: @unchecked Sendable {
    public let plugin: LoadedPlugin
    let table: UnsafePointer<mcph_router_v1>

    init(plugin: LoadedPlugin, table: UnsafePointer<mcph_router_v1>) {
        self.plugin = plugin
        self.table = table
    }
}

/// Everything the loader found. Filled once at start-up on the control thread, read-only after.
///
/// `@unchecked Sendable`: mutated only by `PluginLoader.load` before the registry is shared.
public final class PluginRegistry: @unchecked Sendable {
    public internal(set) var plugins: [LoadedPlugin] = []
    public internal(set) var rejected: [PluginRejection] = []
    public internal(set) var transports: [String: TransportPlugin] = [:]
    public internal(set) var routers: [RouterPlugin] = []

    public init() {}

    public func transport(named name: String) -> TransportPlugin? { transports[name] }
}
