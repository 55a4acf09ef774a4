#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Locking
import ProcessSupport

/// Saturating arithmetic on clock readings and sizes from outside (never traps).
enum Saturating {
    static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
    static func sub(_ a: UInt64, _ b: UInt64) -> UInt64 { a > b ? a - b : 0 }
    static func nanoseconds(ms: Int) -> UInt64 {
        let (product, overflow) = UInt64(max(0, ms)).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? .max : product
    }
}

/// The monotonic clock (CLOCK_MONOTONIC) in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    let seconds = UInt64(max(0, ts.tv_sec))
    let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    return overflow ? .max : Saturating.add(product, UInt64(max(0, ts.tv_nsec)))
}

/// Lets another thread stop a run (a cancellation, the connection closing). Thread-safe.
final class RunCancellation: Sendable {
    private let state = Locked(false)
    func cancel() { state.withLock { $0 = true } }
    var isCancelled: Bool { state.withLock { $0 } }
}

/// What one run of a program produced.
struct RunOutcome: Sendable {
    enum End: Sendable, Equatable {
        case exited(Int32)     // exit status (128+signal when killed by a signal)
        case timedOut
        case cancelled
        case failedToStart(String)
    }
    var end: End
    var stdout: [UInt8]
    var stderr: [UInt8]
    /// Bytes beyond the cap that were read and dropped.
    var stdoutDropped: Int
    var stderrDropped: Int
}

/// Runs a program once under `mcph-supervisor` (its own process group, no shell, stdin at EOF),
/// reading stdout and stderr on the calling thread with `poll`, each kept up to `maxOutput` bytes
/// (the rest is read and dropped, so the program is never blocked on a full pipe). On the deadline
/// or a cancellation the supervisor gets SIGTERM (it signals the whole group: TERM, its grace,
/// KILL); if it has not ended a second after that, its tree is killed from here. Blocks the calling
/// thread (a dedicated one, never the host's task pool) until the tree is gone.
struct ProcessRunner: Sendable {
    let link: SupervisorLink
    /// The supervisor's grace between SIGTERM and SIGKILL of the group.
    var killGraceMs = 500

    func run(_ request: SpawnRequest, timeoutMs: Int, maxOutput: Int, cancellation: RunCancellation?) -> RunOutcome {
        var outcome = RunOutcome(end: .exited(0), stdout: [], stderr: [], stdoutDropped: 0, stderrDropped: 0)
        let process: SpawnedProcess
        do {
            process = try ProcessSpawner.spawn(supervisor: link.supervisorPath, lifeline: link.lifelineRead,
                                               graceMs: killGraceMs, request: request)
        } catch {
            outcome.end = .failedToStart(error.description)
            return outcome
        }
        close(process.stdin) // the program reads EOF: no prompts, no waiting on input
        let deadline = Saturating.add(monotonicNanoseconds(), Saturating.nanoseconds(ms: timeoutMs))
        var open: [Int32] = [process.stdout, process.stderr]
        var stopped: RunOutcome.End?
        var stopTime: UInt64 = 0
        var chunk = [UInt8](repeating: 0, count: 65536)

        var escalated = false
        /// Stops the tree on cancellation or the deadline; escalates if the supervisor lingers.
        func check(_ now: UInt64) {
            if stopped == nil {
                if cancellation?.isCancelled == true { stopped = .cancelled }
                else if now >= deadline { stopped = .timedOut }
                if stopped != nil {
                    kill(process.pid, SIGTERM)
                    stopTime = now
                }
            } else if !escalated, Saturating.sub(now, stopTime) > Saturating.nanoseconds(ms: killGraceMs + 1000) {
                ProcessSpawner.killTree(supervisor: process.pid)
                escalated = true
            }
        }
        while !open.isEmpty {
            let now = monotonicNanoseconds()
            check(now)
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let waitMs = stopped == nil ? min(100, Int(min(Saturating.sub(deadline, now) / 1_000_000 + 1, 100))) : 100
            let ready = poll(&fds, nfds_t(fds.count), Int32(waitMs))
            if ready < 0 && errno != EINTR { break }
            guard ready > 0 else { continue }
            for entry in fds where entry.revents != 0 {
                let n = read(entry.fd, &chunk, chunk.count)
                if n > 0 {
                    if entry.fd == process.stdout {
                        Self.append(chunk[0..<n], to: &outcome.stdout, dropped: &outcome.stdoutDropped, cap: maxOutput)
                    } else {
                        Self.append(chunk[0..<n], to: &outcome.stderr, dropped: &outcome.stderrDropped, cap: maxOutput)
                    }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(entry.fd)
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        for fd in open { close(fd) }
        // Both pipes are closed; the program may still run (it closed them itself): keep the
        // deadline and the cancellation in force while waiting for the supervisor.
        var status: Int32 = 0
        while true {
            let result = waitpid(process.pid, &status, WNOHANG)
            if result == process.pid || (result < 0 && errno != EINTR) { break }
            check(monotonicNanoseconds())
            usleep(10_000)
        }
        if let stopped {
            outcome.end = stopped
        } else {
            let signal = status & 0x7F
            outcome.end = .exited(signal == 0 ? (status >> 8) & 0xFF : 128 + signal)
        }
        return outcome
    }

    /// Appends up to the cap; counts (saturating) what was dropped.
    private static func append(_ bytes: ArraySlice<UInt8>, to buffer: inout [UInt8], dropped: inout Int, cap: Int) {
        let room = max(0, cap - buffer.count)
        if room > 0 { buffer.append(contentsOf: bytes.prefix(room)) }
        let rest = bytes.count - min(room, bytes.count)
        if rest > 0 { dropped = dropped > Int.max - rest ? Int.max : dropped + rest }
    }
}
