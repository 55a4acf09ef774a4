#if canImport(Glibc)
import Glibc
#endif
import PluginAPI
import PluginKit
import ProcessSupport

/// The CLI transport plugin: `mcph.transport/1` named "cli".
///
/// State shared by its connections: the host table (copied, at most its declared struct_size),
/// the supervisor link (supervisor path and lifeline pipe, shared code with the stdio transport),
/// and the host's state directory (ABI 1.2 `state_dir`; nil from an older host: no disk cache).
///
/// `@unchecked Sendable`: every stored property is immutable after `make`; the host table's
/// functions may be called from any thread (ABI).
final class CLIPlugin: @unchecked Sendable {
    let host: mcph_host
    let link: SupervisorLink
    let stateDirectory: String?

    private init(host: mcph_host, link: SupervisorLink, stateDirectory: String?) {
        self.host = host
        self.link = link
        self.stateDirectory = stateDirectory
    }

    /// Throws `HostTableError` (a host table smaller than ABI 1.0's) or `SpawnError` (no supervisor link).
    static func make(host pointer: UnsafePointer<mcph_host>) throws -> CLIPlugin {
        // Fields past the declared size (state_dir from a 1.0/1.1 host) read as absent.
        let host = try copyHost(pointer)
        var stateDirectory: String?
        if let pointer = host.state_dir, host.state_dir_len > 0, host.state_dir_len < 4096 {
            let text = pointer.withMemoryRebound(to: UInt8.self, capacity: host.state_dir_len) {
                String(decoding: UnsafeBufferPointer(start: $0, count: host.state_dir_len), as: UTF8.self)
            }
            if text.hasPrefix("/") { stateDirectory = text }
        }
        return CLIPlugin(host: host, link: try SupervisorLink.make(), stateDirectory: stateDirectory)
    }

    func log(_ level: mcph_log_level, _ message: String) {
        var message = message
        message.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { host.log?(host.ctx, level, $0.baseAddress, $0.count) }
        }
    }
}
