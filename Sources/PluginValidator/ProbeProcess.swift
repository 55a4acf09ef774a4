#if canImport(Glibc)
import Glibc
#endif
import Host

/// A check run in a child process: the validator runs itself again (`validate-plugin FILE --probe
/// KIND`) so that the plugin is loaded and initialised afresh (a plugin is initialised once per
/// process), and so that a plugin that crashes there is a failed check, not a crashed validator.
///
/// The child prints its progress on stdout, one line each: `stage NAME` before each step, then
/// `pass TEXT`, `fail TEXT`, `accepted ID` or `rejected REASON`. Its stderr is the validator's.
/// It runs in a process group of its own, which is killed when it ends (nothing is left behind).
struct ProbeProcess {
    /// How the child ended.
    enum Ending: Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
        case notStarted(String)
    }

    struct Outcome {
        let ending: Ending
        let lines: [String]

        /// The last `stage` the child announced, if any.
        var stage: String? { lines.last { $0.hasPrefix("stage ") }.map { String($0.dropFirst(6)) } }

        /// The texts of the lines starting with `word ` (e.g. `fail`).
        func texts(_ word: String) -> [String] {
            lines.filter { $0.hasPrefix(word + " ") }.map { String($0.dropFirst(word.count + 1)) }
        }

        /// "died of signal 11 (SIGSEGV) during init" and the like.
        var endingText: String {
            switch ending {
            case .exited(let status): return "exited with status \(status)"
            case .signalled(let signal): return "died of signal \(signal) (\(signalName(signal)))" + (stage.map { " during \($0)" } ?? "")
            case .timedOut: return "did not finish in time" + (stage.map { " (stuck in \($0))" } ?? "")
            case .notStarted(let why): return "could not be started: \(why)"
            }
        }
    }

    let executable: String
    let arguments: [String]
    /// "NAME=value" entries.
    let environment: [String]
    let timeout: Double

    /// This process's environment, as "NAME=value" entries.
    static func currentEnvironment() -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            entries.append(String(cString: entry))
            cursor += 1
        }
        return entries
    }

    func run() -> Outcome {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { return Outcome(ending: .notStarted("pipe failed (errno \(errno))"), lines: []) }
        // Neither end may leak into a process a plugin starts meanwhile (the read would never end).
        _ = fcntl(pipe[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipe[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(pipe[1])
        guard spawned == 0 else {
            close(pipe[0])
            return Outcome(ending: .notStarted("posix_spawn \(executable) failed (error \(spawned))"), lines: [])
        }

        // Read until EOF or the deadline.
        var output: [UInt8] = []
        let deadline = MonotonicClock.deadline(after: timeout, from: MonotonicClock.nanoseconds())
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = MonotonicClock.remaining(until: deadline, now: MonotonicClock.nanoseconds())
            if left == 0 {
                timedOut = true
                break
            }
            var poller = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left / 1_000_000 + 1, 1000)))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = read(pipe[0], &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if output.count < 1 << 20 { output += buffer[0..<n] }
        }
        close(pipe[0])
        if timedOut { kill(-pid, SIGKILL) }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        kill(-pid, SIGKILL) // whatever the probe started in its group goes with it
        let lines = output.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        let ending: Ending
        if timedOut {
            ending = .timedOut
        } else if status & 0x7F == 0 {
            ending = .exited((status >> 8) & 0xFF)
        } else {
            ending = .signalled(status & 0x7F)
        }
        return Outcome(ending: ending, lines: lines)
    }
}

func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGSEGV: return "SIGSEGV"
    case SIGBUS: return "SIGBUS"
    case SIGABRT: return "SIGABRT"
    case SIGILL: return "SIGILL"
    case SIGFPE: return "SIGFPE"
    case SIGKILL: return "SIGKILL"
    case SIGTRAP: return "SIGTRAP"
    case SIGTERM: return "SIGTERM"
    default: return "signal \(signal)"
    }
}
