#if canImport(Glibc)
import Glibc
#endif
import LineIO
import Logging

/// One client speaking newline-delimited JSON-RPC over a byte stream: the stdio front-end's
/// stdin/stdout, or one accepted connection of the socket front-end. Both serve their client with
/// exactly this code, so a socket client behaves like a stdio client in every respect.
///
/// Threads: the input is read on a dedicated thread (blocking reads, never on the concurrency
/// pool), the output written by a `LineWriter` thread.
final class StreamClient: Sendable {
    /// What the two descriptors are, which decides how the session ends.
    enum Stream: Sendable {
        /// The process's stdin/stdout: never closed by us except stdout at the end; the input
        /// thread cannot be woken and is left blocked (the process is about to exit).
        case stdio
        /// A connected socket: `input` and `output` are two descriptors of it (`output` a dup), both
        /// owned here and closed at the end; the input thread is woken with `shutdown(SHUT_RD)`.
        case socket
    }

    /// Bound of the queue toward the client: past 16384 messages or 256 MiB the client is not
    /// reading; the session is ended rather than buffering without limit.
    static let messageLimit = 16384
    static let byteLimit = 256 << 20
    /// Longest accepted message; a longer one is skipped and answered with an error.
    static let lineLimit = 64 << 20
    /// How long the end of a socket session waits for its queued output to be written before the
    /// socket is shut down under the writer (a client that stopped reading).
    static let flushBound: Double = 10

    let label: String
    private let core: HostCore
    private let logger: Logger
    private let input: Int32
    private let output: Int32
    private let stream: Stream
    /// Resolved when the session must end (input EOF, output gone, or a stop request).
    private let finished = OneShot<String>()

    init(core: HostCore, label: String, input: Int32, output: Int32, stream: Stream, logger: Logger) {
        self.core = core
        self.label = label
        self.input = input
        self.output = output
        self.stream = stream
        self.logger = logger
    }

    /// Ends the session at once: in-flight requests are not waited for.
    func stop(reason: String) { finished.resolve(reason) }

    /// Serves until the input ends (then answers what was already asked, within the request
    /// timeout), the output breaks, or `stop` is called. Then `ended` runs (the stdio front-end
    /// shuts the core down there, so requests still in flight get an error response), the session
    /// is closed (what it still has on backends is cancelled) and the output flushed and closed.
    /// Returns why the session ended.
    @discardableResult
    func run(ended: @Sendable (String) async -> Void = { _ in }) async -> String {
        let finished = self.finished
        let logger = self.logger
        let label = self.label
        let stream = self.stream
        let output = self.output
        let writer = LineWriter(fd: output, messageLimit: Self.messageLimit, byteLimit: Self.byteLimit,
                                onBroken: { finished.resolve(stream == .stdio ? "stdout closed" : "client disconnected") })
        writer.start()
        let session = core.openSession(label: label) { message in
            if writer.enqueue(message) == .full {
                logger.error("the client is not reading its messages; ending the session", metadata: ["session": "\(label)"])
                finished.resolve("client not reading")
            }
        }
        let core = self.core
        let inputEnded = OneShot<Void>()
        let input = self.input
        DedicatedThread.start(detached: true) {
            var reader = LineReader(fd: input, limit: Self.lineLimit)
            while let line = reader.next() {
                if finished.isResolved { break } // a stopped session takes nothing more
                switch line {
                case .line(let bytes):
                    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                    core.receive(bytes, from: session)
                case .overlong(let length):
                    session.send(JSONRPC.error(id: nil, code: JSONRPCErrorCode.invalidRequest,
                                               message: "Invalid Request: a message of \(length) bytes exceeds the 64 MiB limit"))
                }
            }
            inputEnded.resolve(())
        }
        Task {
            await inputEnded.value()
            // The client closed its input: answer what it already asked, then end. A socket peer
            // that is gone altogether (not just done writing) cannot read answers: end at once.
            let deadline = MonotonicClock.deadline(after: core.options.requestTimeout + 1, from: MonotonicClock.nanoseconds())
            while session.outstanding > 0, MonotonicClock.nanoseconds() < deadline, !finished.isResolved {
                if stream == .socket, Self.peerHungUp(input) {
                    finished.resolve("client disconnected")
                    break
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            finished.resolve(stream == .socket ? "client closed its end" : "stdin closed")
        }
        let reason = await finished.value()
        if stream == .socket {
            // Nothing more is read from a session that ends: wake the reader, wait for it.
            shutdown(input, Int32(SHUT_RD))
            await inputEnded.value()
        }
        await ended(reason)
        core.closeSession(session)
        writer.finish()
        switch stream {
        case .stdio:
            if reason != "client not reading" { writer.join() } // a wedged stdout would block the join
        case .socket:
            await Self.join(writer, socket: input)
            close(input)
        }
        return reason
    }

    /// Waits (off the concurrency pool) for the writer to flush and close its descriptor. A peer
    /// that does not read for `flushBound` seconds gets the socket shut down (through `socket`, a
    /// descriptor of the same connection that stays open until after this returns), which ends
    /// the blocked write.
    private static func join(_ writer: LineWriter, socket: Int32) async {
        let done = OneShot<Void>()
        DedicatedThread.start(detached: true) {
            writer.join()
            done.resolve(())
        }
        let inTime = OneShot<Bool>()
        Task {
            await done.value()
            inTime.resolve(true)
        }
        if await !inTime.value(timeout: flushBound, orElse: false) {
            shutdown(socket, Int32(SHUT_RDWR))
            await done.value()
        }
    }

    /// Whether the socket's peer has closed both directions (POLLHUP), not just its writing side.
    static func peerHungUp(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: 0, revents: 0)
        return poll(&entry, 1, 0) == 1 && (entry.revents & Int16(POLLHUP | POLLERR)) != 0
    }
}
