import Foundation

/// Runs blocking work (waiting for a child process, reading a pipe, sleeping between samples) on
/// a thread of its own, so that it never holds one of the few cooperative-pool threads the
/// in-process floor server needs on a 2-core machine.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC).
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(max(0, now.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, now.tv_nsec))
}

/// Nanoseconds from `start` to `end`; 0 if `end` is not after `start` (never a trap).
func elapsedNanoseconds(from start: UInt64, to end: UInt64) -> UInt64 { end > start ? end - start : 0 }

func seconds(since start: UInt64) -> Double { Double(elapsedNanoseconds(from: start, to: monotonicNanoseconds())) / 1e9 }

/// Progress and diagnostics go to stderr; stdout carries the result table only.
func log(_ message: String) {
    FileHandle.standardError.write(Data(("mcp-host-bench: " + message + "\n").utf8))
}
