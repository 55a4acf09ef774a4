#if canImport(Glibc)
import Glibc
#endif
import PosixSupport

/// What a transport plugin needs to run children under `mcph-supervisor`: the supervisor's path
/// and the lifeline pipe. Every supervisor gets the read end of the lifeline as fd 3; only this
/// process holds the write end (close-on-exec), so when the host dies — even by SIGKILL — every
/// supervisor sees EOF and tears its backend's process tree down.
public struct SupervisorLink: Sendable {
    public let supervisorPath: String
    public let lifelineRead: Int32
    public let lifelineWrite: Int32

    /// Finds the supervisor (`$MCPH_SUPERVISOR`, else beside the plugin library) and opens the lifeline.
    public static func make() throws(SpawnError) -> SupervisorLink {
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
        return SupervisorLink(supervisorPath: supervisor, lifelineRead: high, lifelineWrite: fds[1])
    }

    private static func locateSupervisor() -> String? {
        if let explicit = getenv("MCPH_SUPERVISOR").map({ String(cString: $0) }), access(explicit, X_OK) == 0 {
            return explicit
        }
        guard let directory = pluginDirectory() else { return nil }
        let candidate = directory + "/mcph-supervisor"
        return access(candidate, X_OK) == 0 ? candidate : nil
    }

    /// The directory of the plugin library this code is linked into.
    public static func pluginDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard mcph_own_object_path(&buffer, buffer.count) == 0 else { return nil }
        let path = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}
