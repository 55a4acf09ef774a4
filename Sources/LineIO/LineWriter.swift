#if canImport(Glibc)
import Glibc
#endif
import Locking
import Dispatch
import Synchronization

/// Writes newline-terminated messages to a blocking file descriptor without ever blocking the
/// caller of `enqueue`.
///
/// Two ways out, one order: when nothing is queued, nobody is writing and the last direct write is
/// not recent (`burstGap`), `enqueue` writes a small message itself, on the caller's thread, if
/// the descriptor (a pipe or a socket with this writer as its only writer) can take it at once (a
/// non-blocking descriptor, or `poll` says writable and the message fits in `PIPE_BUF`, so the
/// write cannot block); otherwise the message is queued for the
/// writer thread, which writes everything queued in one `write`. So a message after a pause costs
/// no thread hand-off (one wake-up less), a burst costs one wake-up and few system calls for many
/// messages, and the writer thread is woken only when it sleeps. At most one thread writes at a
/// time (`writing`), so messages go out in `enqueue` order.
///
/// Framing: a message must be one line, so any CR or LF inside it is written as a space. For JSON
/// that is lossless: line breaks can only occur as whitespace between tokens (inside strings they
/// are escaped), e.g. in a pretty-printed message an HTTP client posted.
///
/// Bound: at most `messageLimit` messages and `byteLimit` bytes wait; beyond that `enqueue`
/// answers `.full` and nothing is queued; `onWritable` runs (on the writer thread) once the queue
/// has been drained after such a refusal. `finish()` flushes what is queued, then closes the fd.
/// A write error (EPIPE: the reader is gone) drops what is queued, closes the fd and calls
/// `onBroken` once (from the writer thread: a direct write that fails hands its message to it).
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
        /// A thread (the writer, or a caller writing directly) is writing to the fd now.
        var writing = false
        /// The writer thread waits (or is about to wait) on `wake`: the next message signals it.
        var sleeping = false
        /// When the last direct write began (monotonic nanoseconds).
        var lastDirect: UInt64 = 0

        /// Whether the caller must signal `wake` (once per sleep of the writer thread).
        mutating func wakeIfSleeping() -> Bool {
            guard sleeping else { return false }
            sleeping = false
            return true
        }
    }

    /// Largest message (framed) written on the caller's thread: a pipe write of at most PIPE_BUF
    /// bytes into a pipe that polls writable never blocks.
    static let directLimit = Int(PIPE_BUF)
    /// A message within this long of the last direct write is part of a burst: it is queued, so
    /// the burst goes out in few writes from the writer thread instead of one system call (and
    /// one wake-up of the reader) per message.
    static let burstGap: UInt64 = 25_000

    public let messageLimit: Int
    public let byteLimit: Int
    private let fd: Int32
    /// The descriptor is in non-blocking mode (its owner set O_NONBLOCK): a direct write needs
    /// no `poll` first, and the writer thread polls when the descriptor is full.
    private let nonBlocking: Bool
    /// Direct writes are made only to a pipe or a socket: `poll` + a write of at most PIPE_BUF
    /// cannot block there (this writer is their only writer). A terminal can block mid-write
    /// (flow control), a file on a slow disk too: everything to those goes through the thread.
    private let directAllowed: Bool
    private let queue = Locked(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let onWritable: @Sendable () -> Void
    private let onBroken: @Sendable () -> Void
    private let thread = Locked<pthread_t?>(nil)

    public init(fd: Int32, messageLimit: Int = 4096, byteLimit: Int = 64 << 20,
                onWritable: @escaping @Sendable () -> Void = {}, onBroken: @escaping @Sendable () -> Void = {}) {
        self.fd = fd
        self.nonBlocking = fcntl(fd, F_GETFL) & O_NONBLOCK != 0
        var status = stat()
        let type = fstat(fd, &status) == 0 ? status.st_mode & S_IFMT : 0
        self.directAllowed = type == S_IFIFO || type == S_IFSOCK
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

    /// Writes or queues `message` plus a newline (the bytes are copied if queued). Never blocks.
    public func enqueue(_ message: UnsafeBufferPointer<UInt8>) -> Outcome {
        let directCandidate = directAllowed && message.count < Self.directLimit && Self.isSingleLine(message)
        // A large message is framed outside the lock; a small one (at most PIPE_BUF) only when
        // it has to be queued after all, under the lock.
        let framed: [UInt8]? = directCandidate ? nil : Self.frame(message)
        enum Step { case direct, done(Outcome, wakeWriter: Bool) }
        let step: Step = queue.withLock { q in
            if q.finishing || q.broken { return .done(.closed, wakeWriter: false) }
            if directCandidate && !q.writing && q.messages.isEmpty {
                let now = Self.now()
                if now < q.lastDirect || now - q.lastDirect >= Self.burstGap {
                    q.writing = true
                    q.lastDirect = now
                    return .direct
                }
            }
            let size = message.count + 1
            if q.messages.count >= messageLimit || q.bytes + size > byteLimit {
                q.refusedSinceDrain = true
                return .done(.full, wakeWriter: false)
            }
            q.bytes += size
            q.messages.append(framed ?? Self.frame(message))
            return .done(.queued, wakeWriter: q.wakeIfSleeping())
        }
        switch step {
        case .done(let outcome, let wakeWriter):
            if wakeWriter { wake.signal() }
            return outcome
        case .direct:
            return finishDirect(message, written: writeDirect(message))
        }
    }

    /// After a direct write of `written` bytes of the framed `message` (newline included): what
    /// was not written is queued first, for the writer thread, and the writer woken if needed.
    private func finishDirect(_ message: UnsafeBufferPointer<UInt8>, written: Int) -> Outcome {
        let total = message.count + 1
        var rest: [UInt8] = []
        if written < total {
            rest = Self.frame(message)
            if written > 0 { rest.removeFirst(written) }
        }
        let wakeWriter = queue.withLock { q -> Bool in
            q.writing = false
            if !rest.isEmpty {
                q.messages.insert(rest, at: 0)
                q.bytes += rest.count
            }
            return (!q.messages.isEmpty || q.finishing) && q.wakeIfSleeping()
        }
        if wakeWriter { wake.signal() }
        return .queued
    }

    /// Writes the message and its newline if the descriptor takes it now; the bytes written (0
    /// when it would block or failed: the writer thread then writes it and meets the error).
    private func writeDirect(_ message: UnsafeBufferPointer<UInt8>) -> Int {
        if !nonBlocking {
            var probe = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&probe, 1, 0) == 1, probe.revents & Int16(POLLOUT) != 0,
                  probe.revents & Int16(POLLERR | POLLHUP | POLLNVAL) == 0 else { return 0 }
        }
        var newline: UInt8 = 0x0A
        return withUnsafeMutablePointer(to: &newline) { nl in
            var parts = [iovec(iov_base: UnsafeMutableRawPointer(mutating: message.baseAddress), iov_len: message.count),
                         iovec(iov_base: UnsafeMutableRawPointer(nl), iov_len: 1)]
            while true {
                let n = parts.withUnsafeMutableBufferPointer { writev(fd, $0.baseAddress, 2) }
                if n < 0 && errno == EINTR { continue }
                return max(n, 0)
            }
        }
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(max(ts.tv_sec, 0)) &* 1_000_000_000 &+ UInt64(max(ts.tv_nsec, 0))
    }

    /// Whether the message has no CR or LF in it (it can be written as it is).
    static func isSingleLine(_ message: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = message.baseAddress, !message.isEmpty else { return true }
        return memchr(base, 0x0A, message.count) == nil && memchr(base, 0x0D, message.count) == nil
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
        let wakeWriter = queue.withLock { q -> Bool in
            q.finishing = true
            return q.wakeIfSleeping()
        }
        if wakeWriter { wake.signal() }
    }

    /// Waits for the writer thread to end (after `finish()` or a write error).
    public func join() {
        if let t = thread.withLock({ current -> pthread_t? in defer { current = nil }; return current }) {
            pthread_join(t, nil)
        }
    }

    private func run() {
        while true {
            enum Step { case sleep, write([[UInt8]], notify: Bool), close }
            let step = queue.withLock { q -> Step in
                if q.writing { q.sleeping = true; return .sleep } // a direct writer wakes us when done
                if q.messages.isEmpty {
                    if q.finishing { return .close }
                    q.sleeping = true
                    return .sleep
                }
                let batch = q.messages
                q.messages.removeAll(keepingCapacity: true)
                q.bytes = 0
                q.writing = true
                let notify = q.refusedSinceDrain
                q.refusedSinceDrain = false
                return .write(batch, notify: notify)
            }
            switch step {
            case .sleep:
                wake.wait()
            case .close:
                close(fd)
                return
            case .write(let batch, let notify):
                // Everything queued meanwhile goes out in one write (fewer syscalls under load).
                let chunk = batch.count == 1 ? batch[0] : Self.concatenate(batch)
                if !writeAll(chunk) {
                    queue.withLock { $0.broken = true; $0.writing = false; $0.messages.removeAll(); $0.bytes = 0 }
                    close(fd)
                    onBroken()
                    return
                }
                queue.withLock { $0.writing = false }
                if notify { onWritable() }
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
                    if errno == EAGAIN || errno == EWOULDBLOCK { // non-blocking and full: wait for room
                        var probe = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&probe, 1, -1)
                        continue
                    }
                    return false
                }
                offset += n
            }
            return true
        }
    }
}
