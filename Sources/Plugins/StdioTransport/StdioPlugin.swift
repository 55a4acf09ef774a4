#if canImport(Glibc)
import Glibc
#endif
import PluginAPI
import PosixSupport

/// The stdio transport plugin: `mcph.transport/1` named "stdio".
///
/// State shared by its connections: the host table, the supervisor's path, and the lifeline pipe.
/// Every supervisor gets the read end of the lifeline as fd 3; only this process holds the write
/// end (close-on-exec), so when the host dies — even by SIGKILL — every supervisor sees EOF and
/// tears its backend's process tree down.
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

    static func make(host pointer: UnsafePointer<mcph_host>) throws(SpawnError) -> StdioPlugin {
        let declared = UnsafeRawPointer(pointer).load(as: UInt32.self)
        guard Int(declared) >= hostV1Size else {
            throw SpawnError(description: "the host's mcph_host struct_size \(declared) is smaller than ABI 1.0's (\(hostV1Size) bytes)")
        }
        var host = mcph_host()
        mcph_struct_copy(&host, MemoryLayout<mcph_host>.size, pointer, Int(declared))
        guard let supervisor = locateSupervisor() else {
            throw SpawnError(description: "mcph-supervisor not found beside the plugin (\(pluginDirectory() ?? "?")) and MCPH_SUPERVISOR is not set; it is built with the package (swift build) and installed with the plugins")
        }
        var fds: [Int32] = [-1, -1]
        guard mcph_pipe_cloexec(&fds) == 0 else {
            throw SpawnError(description: "cannot create the lifeline pipe: \(String(cString: strerror(errno)))")
        }
        // Keep the read end away from 0...3 so that dup2 onto fd 3 in the child always happens
        // (dup2 of an fd onto itself would keep its close-on-exec flag).
        let high = fcntl(fds[0], F_DUPFD_CLOEXEC, 10)
        close(fds[0])
        return StdioPlugin(host: host, supervisorPath: supervisor, lifelineRead: high, lifelineWrite: fds[1])
    }

    func log(_ level: mcph_log_level, _ message: String) {
        var message = message
        message.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { host.log?(host.ctx, level, $0.baseAddress, $0.count) }
        }
    }

    private static func locateSupervisor() -> String? {
        if let explicit = getenv("MCPH_SUPERVISOR").map({ String(cString: $0) }), access(explicit, X_OK) == 0 {
            return explicit
        }
        guard let directory = pluginDirectory() else { return nil }
        let candidate = directory + "/mcph-supervisor"
        return access(candidate, X_OK) == 0 ? candidate : nil
    }

    /// The directory this plugin library was loaded from.
    static func pluginDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard mcph_own_object_path(&buffer, buffer.count) == 0 else { return nil }
        let path = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}
