import BenchSupport
import Foundation
import Synchronization

/// Reads a process's resident memory, CPU time and process tree from /proc (Linux).
enum ProcessStats {
    static let ticksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))

    /// A /proc file's text (these report size 0, so read until EOF); at most 1 MiB is read, the
    /// rest is ignored (no /proc file the benchmark reads comes near it). Nil if it cannot be read.
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while bytes.count < 1 << 20 {
            let got = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func residentBytes(_ pid: Int32) -> UInt64? {
        read("/proc/\(pid)/status").flatMap(ProcParsing.residentBytes(status:))
    }

    static func residentMegabytes(_ pid: Int32) -> Double? {
        residentBytes(pid).map { Double($0) / 1_048_576 }
    }

    static func cpuTicks(_ pid: Int32) -> UInt64? {
        read("/proc/\(pid)/stat").flatMap(ProcParsing.stat)?.totalTicks
    }

    /// The processes under `pid`, from one pass over /proc/*/stat.
    static func tree(_ pid: Int32) -> ProcessTree {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var parents: [(pid: Int32, parent: Int32)] = []
        for entry in entries {
            guard let child = Int32(entry), let stat = read("/proc/\(child)/stat").flatMap(ProcParsing.stat) else { continue }
            parents.append((stat.pid, stat.parentPID))
        }
        return ProcessTree(root: pid, parents: parents)
    }
}

/// Samples a process's RSS every 100 ms on its own thread and keeps the peak. Only the peak and
/// the sample count are kept (no list), so a long run uses constant memory.
final class RSSSampler: Sendable {
    private struct State { var peak: UInt64 = 0; var samples = 0; var stopped = false }
    private let state = Mutex(State())
    private let done = DispatchSemaphore(value: 0)

    init(pid: Int32, interval: Double = 0.1) {
        let thread = Thread { [self] in
            while true {
                let rss = ProcessStats.residentBytes(pid)
                let stop = state.withLock { state in
                    if let rss { state.peak = max(state.peak, rss); state.samples += 1 }
                    return state.stopped
                }
                if stop { break }
                Thread.sleep(forTimeInterval: interval)
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops sampling (after one last sample) and returns the peak in MB (2^20 bytes); nil if no
    /// sample could be read.
    func stop() -> Double? {
        state.withLock { $0.stopped = true }
        done.wait()
        let (peak, samples) = state.withLock { ($0.peak, $0.samples) }
        return samples > 0 ? Double(peak) / 1_048_576 : nil
    }
}

/// CPU seconds of one process over an interval: ticks read at `init` and at `finish()`.
struct CPUMeter {
    let pid: Int32
    let start: UInt64?

    init(pid: Int32) {
        self.pid = pid
        start = ProcessStats.cpuTicks(pid)
    }

    func finish() -> Double? {
        guard let start, let end = ProcessStats.cpuTicks(pid) else { return nil }
        return ProcParsing.cpuSeconds(from: start, to: end, ticksPerSecond: ProcessStats.ticksPerSecond)
    }
}
