import Locking
import Logging
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
/// The ABI's "control thread" rule: `open`, `destroy` and `deinit` of one plugin never run at the
/// same time. `control` serializes them (calls may come from different threads). A `destroy` can
/// block while the plugin joins its threads, so an `open` of the same plugin may wait that long;
/// destroys run on dedicated threads, so the wait never holds up the host's other work.
///
/// `@unchecked Sendable`: the pointers are written once at load time and only read afterwards;
/// the plugin's state is the plugin's to synchronise (the ABI states each function's threading).
public final class LoadedPlugin: @unchecked Sendable {
    public let info: PluginInfo
    let descriptor: UnsafePointer<mcph_plugin_descriptor>
    let state: UnsafeMutableRawPointer?
    /// The descriptor's `deinit`, or nil (absent: NULL, or past a short `struct_size`).
    let deinitFunction: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    /// The descriptor's `reconfigure` (ABI 1.4), or nil: every change of its settings needs a restart.
    let reconfigureFunction: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, UnsafeMutablePointer<CChar>?, Int) -> mcph_status)?
    /// The settings the plugin runs with (its configuration section as JSON bytes; nil: none).
    private let currentSettings: Locked<[UInt8]?>

    struct Control {
        /// Connections opened and not yet destroyed.
        var connections = 0
        /// `deinit` ran (or was given up): nothing of the plugin may be called any more.
        var ended = false
    }
    private let control = Locked(Control())

    init(info: PluginInfo, descriptor: UnsafePointer<mcph_plugin_descriptor>, state: UnsafeMutableRawPointer?,
         deinitFunction: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
         reconfigureFunction: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, UnsafeMutablePointer<CChar>?, Int) -> mcph_status)? = nil,
         settings: [UInt8]? = nil) {
        self.info = info
        self.descriptor = descriptor
        self.state = state
        self.deinitFunction = deinitFunction
        self.reconfigureFunction = reconfigureFunction
        self.currentSettings = Locked(settings)
    }

    /// What a plugin made of changed settings.
    public enum Reconfiguration: Sendable, Equatable {
        case unchanged
        case applied
        /// The change needs a restart of the host (no `reconfigure`, or it said so); the plugin keeps
        /// its old settings.
        case needsRestart(String)
        case refused(String)
    }

    /// Hands the plugin its changed configuration section (nil: removed). Control thread.
    func reconfigure(_ settings: [UInt8]?) -> Reconfiguration {
        guard currentSettings.withLock({ $0 }) != settings else { return .unchanged }
        guard let reconfigureFunction else {
            return .needsRestart("plugin '\(info.id)' cannot take new settings while it runs: restart mcp-host to apply them")
        }
        var error = [CChar](repeating: 0, count: 1024)
        let status: mcph_status? = withControl { _ in
            let bytes = settings ?? []
            return bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { text in
                    reconfigureFunction(state, settings == nil ? nil : text.baseAddress, settings == nil ? 0 : text.count, &error, error.count)
                }
            }
        }
        let message = String(cBuffer: error)
        switch status {
        case nil:
            return .refused("plugin '\(info.id)' has been shut down")
        case MCPH_OK?:
            currentSettings.withLock { $0 = settings }
            return .applied
        case MCPH_E_UNSUPPORTED?:
            return .needsRestart("plugin '\(info.id)' needs a restart of mcp-host for this change" + (message.isEmpty ? "" : ": \(message)"))
        case let other?:
            return .refused("plugin '\(info.id)' refused its new settings (status \(other))" + (message.isEmpty ? "" : ": \(message)"))
        }
    }

    /// Runs one control-thread call of the plugin (`open`, `destroy`, `deinit`), never concurrently
    /// with another; nil when the plugin has already ended.
    func withControl<Result>(_ body: (inout Control) -> Result) -> Result? {
        control.withLock { control in
            guard !control.ended else { return nil }
            return body(&control)
        }
    }

    /// Connections opened and not yet destroyed.
    public var openConnections: Int { control.withLock { $0.connections } }

    /// Calls `deinit` once (if the plugin has one) unless it has connections left; afterwards
    /// nothing of the plugin is called. Returns whether this call ended it.
    @discardableResult
    func end() -> Bool {
        control.withLock { control in
            guard !control.ended, control.connections == 0 else { return false }
            control.ended = true
            deinitFunction?(state)
            return true
        }
    }
}

/// A plugin's `mcph.transport/1` table, copied at load time (at most its declared `struct_size`;
/// slots it does not have read as absent). `@unchecked Sendable`: immutable after load.
public final class TransportPlugin: @unchecked Sendable {
    public let plugin: LoadedPlugin
    let table: mcph_transport_v1
    public let name: String

    init(plugin: LoadedPlugin, table: mcph_transport_v1, name: String) {
        self.plugin = plugin
        self.table = table
        self.name = name
    }
}

/// A plugin's `mcph.router/1` table, copied at load time like a transport's. `@unchecked
/// Sendable`: immutable after load; router functions are thread-safe by contract.
public final class RouterPlugin: @unchecked Sendable {
    public let plugin: LoadedPlugin
    let table: mcph_router_v1

    init(plugin: LoadedPlugin, table: mcph_router_v1) {
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

    /// Ends every loaded plugin at host shutdown: waits (up to `timeout` seconds) until each has no
    /// connection left, then calls its `deinit`. A plugin whose connections are still not destroyed
    /// at the deadline is not deinitialised (the ABI promises deinit only after every destroy);
    /// that is logged. Call it after the core's shutdown; idempotent.
    public func shutdown(timeout: Double = 5, logger: Logger) async {
        let deadline = MonotonicClock.nanoseconds().addingSaturating(seconds: timeout)
        for plugin in plugins {
            while plugin.openConnections > 0 && MonotonicClock.nanoseconds() < deadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
            if !plugin.end(), plugin.openConnections > 0 {
                logger.error("plugin '\(plugin.info.id)' still has \(plugin.openConnections) connection(s) at shutdown; its deinit is not called")
            }
        }
    }
}

extension PluginRegistry {
    /// Ends (deinit) every plugin that has no connection, without waiting: for commands that
    /// load plugins and open nothing (`mcp-host plugins`).
    public func endIdlePlugins() {
        for plugin in plugins { plugin.end() }
    }
}

extension UInt64 {
    /// This clock reading plus `seconds` (negative, NaN: none), saturating instead of trapping.
    func addingSaturating(seconds: Double) -> UInt64 {
        guard seconds.isFinite, seconds > 0 else { return self }
        let nanos = seconds * 1e9
        let delta = nanos >= Double(UInt64.max) ? UInt64.max : UInt64(nanos)
        let (sum, overflow) = addingReportingOverflow(delta)
        return overflow ? .max : sum
    }
}
