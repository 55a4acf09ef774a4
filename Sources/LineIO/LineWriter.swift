#if canImport(Glibc)
import Glibc
#endif
import Locking
import Dispatch
import Synchronization

/// Writes newline-terminated messages to a blocking file descriptor from its own thread, so that
/// `enqueue` never blocks its caller.
///
/// Framing: a message must be one line, so any CR or LF inside it is written as a space. For JSON
/// that is lossless: line breaks can only occur as whitespace between tokens (inside strings they
/// are escaped), e.g. in a pretty-printed message an HTTP client posted.
///
/// Bound: at most `messageLimit` messages and `byteLimit` bytes wait; beyond that `enqueue`
/// answers `.full` and nothing is queued; `onWritable` runs (on the writer thread) once the queue
/// has been drained after such a refusal. `finish()` flushes what is queued, then closes the fd.
/// A write error (EPIPE: the reader is gone) drops what is queued, closes the fd and calls
/// `onBroken` once.
public final class LineWriter: Sendable {
    public enum Outcome: Sendable, Equatable {
        case queued
        case full
        case closed
    }

    private struct Queue {
        var messages: [[UInt8]] = []
        var bytes = 0
        var finishing = false
        var broken = false
        var refusedSinceDrain = false
    }

    public let messageLimit: Int
    public let byteLimit: Int
    private let fd: Int32
    private let queue = Locked(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let onWritable: @Sendable () -> Void
    private let onBroken: @Sendable () -> Void
    private let thread = Locked<pthread_t?>(nil)

    public init(fd: Int32, messageLimit: Int = 4096, byteLimit: Int = 64 << 20,
                onWritable: @escaping @Sendable () -> Void = {}, onBroken: @escaping @Sendable () -> Void = {}) {
        self.fd = fd
        self.messageLimit = messageLimit
        self.byteLimit = byteLimit
        self.onWritable = onWritable
        self.onBroken = onBroken
    }

    public func start() {
        let t = DedicatedThread.start { [self] in run() }
        thread.withLock { $0 = t }
    }

    /// Queues `message` plus a newline. Never blocks.
    public func enqueue(_ message: [UInt8]) -> Outcome {
        message.withUnsafeBufferPointer { enqueue($0) }
    }

    /// Queues `message` plus a newline (the bytes are copied). Never blocks.
    public func enqueue(_ message: UnsafeBufferPointer<UInt8>) -> Outcome {
        let framed = Self.frame(message) // outside the lock: the lock guards only the queue
        let outcome: Outcome = queue.withLock { q in
            if q.finishing || q.broken { return .closed }
            if q.messages.count >= messageLimit || q.bytes + framed.count > byteLimit {
                q.refusedSinceDrain = true
                return .full
            }
            q.bytes += framed.count
            q.messages.append(framed)
            return .queued
        }
        if outcome == .queued { wake.signal() }
        return outcome
    }

    /// The message with a trailing newline, and any CR/LF inside it turned into spaces.
    static func frame(_ message: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: message.count + 1) { out, count in
            for i in 0..<message.count {
                let byte = message[i]
                out[i] = byte == 0x0A || byte == 0x0D ? 0x20 : byte
            }
            out[message.count] = 0x0A
            count = message.count + 1
        }
    }

    /// Flushes what is queued, then closes the descriptor. Idempotent; returns at once.
    public func finish() {
        queue.withLock { $0.finishing = true }
        wake.signal()
    }

    /// Waits for the writer thread to end (after `finish()` or a write error).
    public func join() {
        if let t = thread.withLock({ current -> pthread_t? in defer { current = nil }; return current }) {
            pthread_join(t, nil)
        }
    }

    private func run() {
        while true {
            wake.wait()
            let (batch, finishing, notify) = queue.withLock { q -> ([[UInt8]], Bool, Bool) in
                let batch = q.messages
                q.messages.removeAll(keepingCapacity: true)
                q.bytes = 0
                let notify = q.refusedSinceDrain
                q.refusedSinceDrain = false
                return (batch, q.finishing, notify)
            }
            // Everything queued meanwhile goes out in one write (fewer syscalls under load).
            let chunk = batch.count == 1 ? batch[0] : Self.concatenate(batch)
            if !chunk.isEmpty && !writeAll(chunk) {
                queue.withLock { $0.broken = true; $0.messages.removeAll() }
                close(fd)
                onBroken()
                return
            }
            if notify { onWritable() }
            if finishing && queue.withLock({ $0.messages.isEmpty }) {
                close(fd)
                return
            }
        }
    }

    private static func concatenate(_ parts: [[UInt8]]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { out.append(contentsOf: part) }
        return out
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }
}
