#if canImport(Glibc)
import Glibc
#endif
import Logging
import PluginAPI

/// The host as one plugin sees it: an `mcph_host` table whose `ctx` tags every log line with the
/// plugin's id. Allocated once per plugin and never freed (plugins are never unloaded).
final class PluginHostContext: Sendable {
    let pluginID: String
    let logger: Logger

    private init(pluginID: String, logger: Logger) {
        self.pluginID = pluginID
        var logger = logger
        logger[metadataKey: "plugin"] = "\(pluginID)"
        self.logger = logger
    }

    /// `stateDirectory`: the host's state directory handed to the plugin (ABI 1.2 `state_dir`),
    /// or nil for none. Its bytes are copied into storage that is never freed, like the table.
    /// `pluginConfig`: the plugin's section of the configuration (ABI 1.4 `plugin_config`), JSON
    /// bytes, copied like the state directory into storage that is never freed.
    static func make(pluginID: String, logger: Logger, stateDirectory: String? = nil,
                     pluginConfig: [UInt8]? = nil) -> UnsafePointer<mcph_host> {
        var configPointer: UnsafePointer<CChar>?
        if let pluginConfig, !pluginConfig.isEmpty {
            let storage = UnsafeMutablePointer<CChar>.allocate(capacity: pluginConfig.count)
            for (index, byte) in pluginConfig.enumerated() { storage[index] = CChar(bitPattern: byte) }
            configPointer = UnsafePointer(storage)
        }
        let context = Unmanaged.passRetained(PluginHostContext(pluginID: pluginID, logger: logger))
        var stateDir: UnsafePointer<CChar>?
        var stateDirLength = 0
        if let stateDirectory, !stateDirectory.isEmpty {
            stateDir = UnsafePointer(strdup(stateDirectory))
            stateDirLength = stateDirectory.utf8.count
        }
        let table = UnsafeMutablePointer<mcph_host>.allocate(capacity: 1)
        table.initialize(to: mcph_host(
            struct_size: UInt32(MemoryLayout<mcph_host>.size),
            abi_major: PluginABI.major,
            abi_minor: PluginABI.minor,
            ctx: context.toOpaque(),
            log: hostLog,
            monotonic_ns: hostMonotonicNanoseconds,
            get_interface: hostGetInterface,
            state_dir: stateDir,
            state_dir_len: stateDirLength,
            plugin_config: configPointer,
            plugin_config_len: configPointer == nil ? 0 : pluginConfig?.count ?? 0))
        return UnsafePointer(table)
    }
}

extension Logger.Level {
    /// The swift-log level of an ABI log level (unknown values log as warnings).
    init(abi level: mcph_log_level) {
        switch level {
        case MCPH_LOG_TRACE: self = .trace
        case MCPH_LOG_DEBUG: self = .debug
        case MCPH_LOG_INFO: self = .info
        case MCPH_LOG_ERROR: self = .error
        default: self = .warning
        }
    }
}

/// Text of a borrowed (pointer, length) pair from a plugin; invalid UTF-8 is repaired.
func borrowedText(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
    guard let pointer, length > 0 else { return "" }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
}

private func hostLog(_ ctx: UnsafeMutableRawPointer?, _ level: mcph_log_level, _ message: UnsafePointer<CChar>?, _ length: Int) {
    guard let ctx else { return }
    let context = Unmanaged<PluginHostContext>.fromOpaque(ctx).takeUnretainedValue()
    context.logger.log(level: Logger.Level(abi: level), "\(borrowedText(message, length))")
}

private func hostMonotonicNanoseconds(_ ctx: UnsafeMutableRawPointer?) -> UInt64 {
    MonotonicClock.nanoseconds()
}

private func hostGetInterface(_ ctx: UnsafeMutableRawPointer?, _ id: UnsafePointer<CChar>?) -> UnsafeRawPointer? {
    nil // ABI 1.0 defines no host-side interfaces.
}
