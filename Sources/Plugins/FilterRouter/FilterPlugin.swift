#if canImport(Glibc)
import Glibc
#endif
import FilterRouterCore
import Locking
import PluginAPI

/// The filter router's state: its rules, swapped as a whole by `reconfigure`.
///
/// `expose`, `route` and `allow` run on any host thread at once: each takes one consistent copy
/// of the rules under the lock (a reference copy of three dictionaries, never held across
/// anything else), so a reconfiguration is atomic: a call sees the old rules or the new ones,
/// never a mix.
final class FilterPlugin: Sendable {
    private let current: Locked<FilterRules>
    /// The host table given to `init` (valid until deinit); nil in unit use.
    private let host: HostHandle?

    /// `@unchecked Sendable`: the host table is immutable and its `log` may be called from any thread.
    struct HostHandle: @unchecked Sendable {
        let table: UnsafePointer<mcph_host>
    }

    init(rules: FilterRules, host: UnsafePointer<mcph_host>?) {
        current = Locked(rules)
        self.host = host.map(HostHandle.init)
    }

    var rules: FilterRules { current.withLock { $0 } }

    func replace(with rules: FilterRules) { current.withLock { $0 = rules } }

    /// One log line through the host (tagged with the plugin id there).
    func log(_ level: mcph_log_level, _ message: String) {
        guard let host, let log = host.table.pointee.log else { return }
        var bytes = Array(message.utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { log(host.table.pointee.ctx, level, $0.baseAddress, $0.count) }
        }
    }

    static func summary(_ rules: FilterRules) -> String {
        "\(rules.servers.count) server rule set(s), \(rules.subjects.count) subject rule set(s), \(rules.roles.count) role rule set(s)"
    }
}
