#if canImport(Glibc)
import Glibc
#endif
import PluginAPI
import PluginKit
import ProcessSupport

/// The stdio transport plugin: `mcph.transport/1` named "stdio".
///
/// State shared by its connections: the host table, the supervisor's path, and the lifeline pipe
/// (see `SupervisorLink` in ProcessSupport, shared with the CLI transport).
///
/// `@unchecked Sendable`: every stored property is immutable after `make`.
final class StdioPlugin: @unchecked Sendable {
    /// The host's table, copied at init (at most its declared struct_size).
    let host: mcph_host
    let supervisorPath: String
    let lifelineRead: Int32
    let lifelineWrite: Int32

    private init(host: mcph_host, supervisorPath: String, lifelineRead: Int32, lifelineWrite: Int32) {
        self.host = host
        self.supervisorPath = supervisorPath
        self.lifelineRead = lifelineRead
        self.lifelineWrite = lifelineWrite
    }

    /// Throws `HostTableError` (a host table smaller than ABI 1.0's) or `SpawnError` (no supervisor link).
    static func make(host pointer: UnsafePointer<mcph_host>) throws -> StdioPlugin {
        let host = try copyHost(pointer)
        let link = try SupervisorLink.make()
        return StdioPlugin(host: host, supervisorPath: link.supervisorPath, lifelineRead: link.lifelineRead, lifelineWrite: link.lifelineWrite)
    }

    func log(_ level: mcph_log_level, _ message: String) {
        var message = message
        message.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { host.log?(host.ctx, level, $0.baseAddress, $0.count) }
        }
    }
}
