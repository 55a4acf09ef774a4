#if canImport(Glibc)
import Glibc
#endif
import LineIO
import Logging

/// The stdio front-end: one client speaking NDJSON on the host's stdin/stdout. stdout carries
/// protocol only; every log line goes to stderr.
public final class StdioFrontEnd: Sendable {
    /// Bound of the queue toward the client: past 16384 messages or 256 MiB the client is not
    /// reading its stdout; the session is ended rather than buffering without limit.
    static let messageLimit = 16384
    static let byteLimit = 256 << 20

    private let core: HostCore
    private let logger: Logger
    /// Resolved when the session must end (stdin EOF, stdout gone, or a stop request).
    private let finished = OneShot<String>()

    public init(core: HostCore, logger: Logger) {
        self.core = core
        self.logger = logger
    }

    /// Asks the front-end to stop (SIGTERM/SIGINT): in-flight requests are not waited for.
    public func stop(reason: String) { finished.resolve(reason) }

    /// Serves until stdin ends (then answers what was already asked, within the request
    /// timeout), stdout breaks, or `stop` is called; then shuts the core down (requests still in
    /// flight get an error response) before closing stdout.
    public func run() async {
        let finished = self.finished
        let writer = LineWriter(fd: STDOUT_FILENO, messageLimit: Self.messageLimit, byteLimit: Self.byteLimit,
                                onBroken: { finished.resolve("stdout closed") })
        writer.start()
        let logger = self.logger
        let session = core.openSession(label: "stdio") { message in
            if writer.enqueue(message) == .full {
                logger.error("the stdio client is not reading its stdout; ending the session")
                finished.resolve("client not reading")
            }
        }
        let core = self.core
        let inputEnded = OneShot<Void>()
        DedicatedThread.start(detached: true) {
            var reader = LineReader(fd: STDIN_FILENO, limit: 64 << 20)
            while let line = reader.next() {
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
            // The client closed its input: answer what it already asked, then end.
            let deadline = MonotonicClock.deadline(after: core.options.requestTimeout + 1, from: MonotonicClock.nanoseconds())
            while session.outstanding > 0, MonotonicClock.nanoseconds() < deadline, !finished.isResolved {
                try? await Task.sleep(for: .milliseconds(20))
            }
            finished.resolve("stdin closed")
        }
        let reason = await finished.value()
        logger.info("stdio session ended: \(reason)")
        await core.shutdown()
        core.closeSession(session)
        writer.finish()
        if reason != "client not reading" { writer.join() } // a wedged stdout would block the join

    }
}
