#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The stdio front-end: one client speaking NDJSON on the host's stdin/stdout. stdout carries
/// protocol only; every log line goes to stderr. The client is served by `StreamClient`, the same
/// code that serves each connection of the socket front-end.
public final class StdioFrontEnd: Sendable {
    private let core: HostCore
    private let logger: Logger
    private let client: StreamClient

    public init(core: HostCore, logger: Logger) {
        self.core = core
        self.logger = logger
        client = StreamClient(core: core, label: "stdio", input: STDIN_FILENO, output: STDOUT_FILENO, stream: .stdio, logger: logger)
    }

    /// Asks the front-end to stop (SIGTERM/SIGINT): in-flight requests are not waited for.
    public func stop(reason: String) { client.stop(reason: reason) }

    /// Serves until stdin ends (then answers what was already asked, within the request
    /// timeout), stdout breaks, or `stop` is called; then shuts the core down (requests still in
    /// flight get an error response) before closing stdout.
    public func run() async {
        let core = self.core
        let logger = self.logger
        await client.run { reason in
            logger.info("stdio session ended: \(reason)")
            await core.shutdown()
        }
    }
}
