import ArgumentParser
import Dispatch
import Foundation
import Host

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve MCP clients on stdin/stdout (the default command).")

    @OptionGroup var options: CoreOptions

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let logger = options.bootstrapLogging(defaultLevel: .info)
        let core = try options.makeCore(logger: logger)
        let frontEnd = StdioFrontEnd(core: core, logger: logger)
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP]) { signal in
            frontEnd.stop(reason: "signal \(signal)")
        }
        await frontEnd.run() // ends with the core's shutdown
        signals.cancel()
        logger.info("mcp-host stopped")
    }
}

/// Turns termination signals into a callback (on a Dispatch queue, not in a signal handler).
/// `@unchecked Sendable`: `sources` is written once in init and only read (cancel) after.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "mcp-host.signals")
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() { for source in sources { source.cancel() } }
}
