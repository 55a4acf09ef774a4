#if canImport(Glibc)
import Glibc
#endif
import PosixSupport

/// A backend process tree started under `mcph-supervisor`: the host-side ends of its pipes and the
/// supervisor's pid.
public struct SpawnedProcess: Sendable {
    public let pid: pid_t
    /// Write end of the backend's stdin.
    public let stdin: Int32
    /// Read end of the backend's stdout.
    public let stdout: Int32
    /// Read end of the backend's stderr.
    public let stderr: Int32
}

public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// What to start under the supervisor: a program (found on PATH by the supervisor when it has no
/// slash), its arguments, extra environment (added to the plugin's own), and a working directory.
public struct SpawnRequest: Sendable {
    public var command: String
    public var args: [String]
    public var env: [String: String]
    public var cwd: String?

    public init(command: String, args: [String] = [], env: [String: String] = [:], cwd: String? = nil) {
        self.command = command
        self.args = args
        self.env = env
        self.cwd = cwd
    }
}

/// Starts `mcph-supervisor --lifeline 3 --grace-ms N [--cwd DIR] -- COMMAND ARGS...` with
/// posix_spawn. Every descriptor the host creates is close-on-exec, so the child receives exactly
/// stdin/stdout/stderr and the lifeline; its signal mask and dispositions are reset to defaults.
/// Shared by the stdio and CLI transports (linked statically into each).
public enum ProcessSpawner {
    public static func spawn(supervisor: String, lifeline: Int32, graceMs: Int, request config: SpawnRequest) throws(SpawnError) -> SpawnedProcess {
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        func closeAll() {
            for fd in stdinPipe + stdoutPipe + stderrPipe where fd >= 0 { close(fd) }
        }
        guard mcph_pipe_cloexec(&stdinPipe) == 0, mcph_pipe_cloexec(&stdoutPipe) == 0, mcph_pipe_cloexec(&stderrPipe) == 0 else {
            let why = String(cString: strerror(errno))
            closeAll()
            throw SpawnError(description: "cannot create pipes: \(why)")
        }

        var arguments = [supervisor, "--lifeline", "3", "--grace-ms", String(graceMs)]
        if let cwd = config.cwd { arguments += ["--cwd", cwd] }
        arguments += ["--", config.command] + config.args

        var environment: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { environment[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            cursor += 1
        }
        for (key, value) in config.env { environment[key] = value }

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        posix_spawn_file_actions_adddup2(&actions, lifeline, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let result = posix_spawn(&pid, supervisor, &actions, &attributes, argv, envp)
        guard result == 0 else {
            closeAll()
            throw SpawnError(description: "cannot start supervisor '\(supervisor)': \(String(cString: strerror(result)))")
        }
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        return SpawnedProcess(pid: pid, stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0])
    }

    /// Last-resort kill of a supervisor and its backend's process group, for a supervisor that
    /// did not finish its own tear-down in time.
    public static func killTree(supervisor pid: pid_t) {
        if let bytes = readAll(path: "/proc/\(pid)/task/\(pid)/children") {
            for child in String(decoding: bytes, as: UTF8.self).split(separator: " ").compactMap({ pid_t($0) }) {
                kill(-child, SIGKILL)
                kill(child, SIGKILL)
            }
        }
        kill(pid, SIGKILL)
    }

    private static func readAll(path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}
