#if canImport(Glibc)
import Glibc
#endif
import Locking
import Dispatch
import LineIO
import PluginAPI
import ProcessSupport
import Synchronization

/// One backend child process, spoken to with one compact JSON message per line each way.
///
/// Threads (blocking I/O on dedicated threads keeps the host's concurrency pool free):
/// - reader: stdout lines -> `on_message`; at EOF waits for the process and sends the terminal event;
/// - stderr: stderr lines -> `on_log`, keeping the last lines for the terminal event's detail;
/// - writer (`LineWriter`): drains the bounded send queue into stdin; closes stdin on `close`;
/// - closer (only after `close`): escalates close stdin -> SIGTERM -> SIGKILL within the grace.
/// Host callbacks are invoked under `callbackLock`, so they are serialized per connection as the
/// ABI promises.
///
/// `@unchecked Sendable`: `callbacks` and `process` are immutable; all mutable state is behind a
/// Mutex, an Atomic or a semaphore.
final class StdioConnection: @unchecked Sendable {
    /// A stdout line longer than this is discarded (logged) rather than buffered without bound.
    static let lineLimit = 64 << 20

    let name: String
    private let callbacks: mcph_conn_callbacks
    private let process: SpawnedProcess
    private let graceMs: Int
    private let exited = DispatchSemaphore(value: 0)
    private let callbackLock = Locked(false) // true once a terminal event was sent
    private let closeRequested = Atomic<Bool>(false)
    private let stderrTail = Locked<[String]>([])
    private let threads = Locked<[pthread_t]>([])
    /// Send queue: 4096 messages or 64 MiB; beyond that `send` answers MCPH_E_AGAIN and a
    /// WRITABLE event follows once the queue drained.
    private let writer: LineWriter

    init(name: String, callbacks: mcph_conn_callbacks, process: SpawnedProcess, graceMs: Int) {
        self.name = name
        self.callbacks = callbacks
        self.process = process
        self.graceMs = graceMs
        let box = WeakBox()
        // Our end of the child's stdin is ours alone: non-blocking, so a send writes at once
        // when the pipe has room and never waits when it has none (LineWriter queues it then).
        _ = fcntl(process.stdin, F_SETFL, fcntl(process.stdin, F_GETFL) | O_NONBLOCK)
        self.writer = LineWriter(fd: process.stdin, onWritable: { box.connection?.event(MCPH_EVENT_WRITABLE, code: 0, detail: "") })
        box.connection = self
    }

    /// Lets the writer's callback reach the connection without a retain cycle.
    private final class WeakBox: @unchecked Sendable {
        weak var connection: StdioConnection?
    }

    /// Starts the I/O threads and reports OPENED.
    func start() {
        event(MCPH_EVENT_OPENED, code: Int32(process.pid), detail: "pid \(process.pid)")
        writer.start()
        let stderrThread = DedicatedThread.start { [self] in readStderr() }
        let reader = DedicatedThread.start { [self] in readStdout(stderrThread: stderrThread) }
        threads.withLock { $0 = [reader] }
    }

    // MARK: - Host-facing operations

    func send(_ message: UnsafeBufferPointer<UInt8>) -> mcph_status {
        switch writer.enqueue(message) {
        case .queued: return MCPH_OK
        case .full: return MCPH_E_AGAIN
        case .closed: return MCPH_E_CLOSED
        }
    }

    func close(graceMs: Int) {
        guard !closeRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writer.finish() // flushes what is queued, then closes the child's stdin
        DedicatedThread.start(detached: true) { [self] in escalate(graceMs: graceMs) }
    }

    /// Ends the connection and waits until no thread of it can call the host again.
    func destroy() {
        close(graceMs: 0)
        for thread in threads.withLock({ $0 }) { pthread_join(thread, nil) }
        writer.join()
    }

    // MARK: - Threads

    private func escalate(graceMs: Int) {
        // Step 1: stdin is closing; give the backend half the grace to exit on its own.
        if exited.wait(timeout: .now() + .milliseconds(graceMs / 2)) == .success { exited.signal(); return }
        // Step 2: SIGTERM to the supervisor, which signals the whole group (TERM, its grace, KILL).
        kill(process.pid, SIGTERM)
        if exited.wait(timeout: .now() + .milliseconds(self.graceMs + 1000)) == .success { exited.signal(); return }
        // Step 3: the supervisor did not finish in time; kill its tree from here.
        ProcessSpawner.killTree(supervisor: process.pid)
    }

    private func readStdout(stderrThread: pthread_t) {
        var reader = LineReader(fd: process.stdout, limit: Self.lineLimit)
        while let line = reader.next() {
            switch line {
            case .line(let bytes):
                guard !bytes.isEmpty else { continue }
                bytes.withUnsafeBufferPointer { buffer in
                    callbackLock.withLock { _ in
                        callbacks.on_message(callbacks.ctx, mcph_bytes(ptr: buffer.baseAddress, len: buffer.count, release: nil, release_ctx: nil))
                    }
                }
            case .overlong(let length):
                log(MCPH_LOG_ERROR, "stdout line of \(length)+ bytes exceeds the \(Self.lineLimit)-byte limit; discarded")
            }
        }
        Glibc.close(process.stdout)
        // The process tree is ending; collect its status and its last stderr lines.
        var status: Int32 = 0
        while waitpid(process.pid, &status, 0) < 0 && errno == EINTR {}
        exited.signal()
        pthread_join(stderrThread, nil)
        writer.finish()

        let code = exitCode(status)
        let tail = stderrTail.withLock { $0 }.joined(separator: " | ")
        if closeRequested.load(ordering: .acquiring) || code == 0 {
            event(MCPH_EVENT_CLOSED, code: code, detail: code == 0 ? "exited" : "stopped (status \(code))")
        } else {
            var detail = code == 127 && tail.contains("cannot start") ? "could not be started" : "exited with status \(code)"
            if !tail.isEmpty { detail += "; last stderr: \(tail)" }
            event(MCPH_EVENT_FAILED, code: code, detail: detail)
        }
    }

    private func readStderr() {
        var reader = LineReader(fd: process.stderr, limit: 64 << 10)
        while let line = reader.next() {
            guard case .line(let bytes) = line, !bytes.isEmpty else { continue }
            let text = String(decoding: bytes, as: UTF8.self)
            stderrTail.withLock { tail in
                tail.append(text.count > 300 ? String(text.prefix(300)) + "…" : text)
                if tail.count > 3 { tail.removeFirst() }
            }
            log(MCPH_LOG_INFO, text)
        }
        Glibc.close(process.stderr)
    }

    // MARK: - Callbacks

    private func event(_ event: mcph_conn_event, code: Int32, detail: String) {
        var detail = detail
        callbackLock.withLock { terminalSent in
            if terminalSent { return }
            if event == MCPH_EVENT_FAILED || event == MCPH_EVENT_CLOSED { terminalSent = true }
            detail.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) {
                    callbacks.on_event(callbacks.ctx, event, code, $0.baseAddress, $0.count)
                }
            }
        }
    }

    private func log(_ level: mcph_log_level, _ message: String) {
        var message = message
        message.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { callbacks.on_log(callbacks.ctx, level, $0.baseAddress, $0.count) }
        }
    }

    private func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

