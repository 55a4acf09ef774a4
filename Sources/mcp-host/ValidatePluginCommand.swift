import ArgumentParser
import Foundation
import Host
import Logging
import PluginValidator

struct ValidatePluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate-plugin",
        abstract: "Check a plugin library against the plugin ABI: load it as the host does and run a conformance suite.",
        discussion: """
            Checks the descriptor and interface tables, struct_size handling (an ABI 1.0 host), the \
            exported symbols, and the host's loader on it; for a transport with --connection-config, \
            a whole connection (open returns at once, one OPENED, an initialize round trip, send never \
            blocks, back-pressure and WRITABLE, close with one terminal event, nothing after destroy, \
            no process left behind); for a router, expose/route/allow on sample items. One line per \
            check (PASS, FAIL or SKIP). Exit status: 0 all passed, 1 a check failed, 2 the file \
            cannot be loaded at all.
            """)

    @Argument(help: ArgumentHelp("The plugin library (a .so file).", valueName: "file"))
    var file: String

    @Option(name: .customLong("connection-config"), help: ArgumentHelp(
        "The JSON object handed to the transport's open, e.g. {\"command\": \"python3\", \"args\": [\"server.py\"]} for stdio. Without it the checks that need a live connection are skipped.",
        valueName: "json"))
    var connectionConfig: String?

    @Flag(name: .customLong("json"), help: "Print the report as one JSON object.")
    var json = false

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds to wait for OPENED and for answers.", valueName: "seconds"))
    var timeout: Double = 30

    @Flag(name: .customLong("verbose"), help: "Show the plugin's log lines (debug and up) on stderr, and the backtrace of a probe process the plugin crashed.")
    var verbose = false

    @Option(name: .customLong("probe"), help: .hidden)
    var probe: String?

    func validate() throws {
        guard timeout.isFinite, timeout > 0, timeout <= 3600 else {
            throw ValidationError("--timeout must be a number of seconds from 0 to 3600 (got \(timeout))")
        }
        if let connectionConfig {
            let parsed = try? JSONSerialization.jsonObject(with: Data(connectionConfig.utf8))
            guard parsed is [String: Any] else {
                throw ValidationError("--connection-config must be a JSON object, e.g. {\"command\": \"python3\", \"args\": [\"server.py\"]}")
            }
        }
    }

    func run() async throws {
        let file = HostPaths.absolute(self.file)
        let config = connectionConfig.map { Array($0.utf8) }
        let (timeout, probe, json, verbose) = (self.timeout, self.probe, self.json, self.verbose)
        // The suite runs on a thread of its own, never on the concurrency pool: it waits there for
        // the plugin, and Swift plugins need the pool meanwhile.
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                if let probe {
                    continuation.resume(returning: ValidatorProbe.run(kind: probe, file: file, connectionConfig: config, timeout: timeout))
                    return
                }
                var logger = Logger(label: "mcp-host.validate-plugin") { label in
                    var handler = StreamLogHandler.standardError(label: label)
                    handler.logLevel = verbose ? .debug : .error
                    return handler
                }
                logger.logLevel = verbose ? .debug : .error
                let validator = PluginValidator(options: ValidatorOptions(file: file, connectionConfig: config, timeout: timeout, backtraces: verbose),
                                                logger: logger)
                if !json { Self.write(ValidationReport(file: file).headerLine) }
                let report = validator.run(
                    onPlugin: { plugin in if !json { Self.write(ValidationReport.pluginLine(plugin)) } },
                    onCheck: { check in if !json { Self.write(ValidationReport.line(check)) } })
                if json {
                    Self.write(report.json, newline: false)
                } else {
                    report.summaryLines.forEach { Self.write($0) }
                }
                // A thread is stuck in the plugin: leave without the plugin's exit-time code, which
                // could wait for it (the report is written; stdout is not buffered here).
                if report.pluginWedged { _exit(report.exitCode) }
                continuation.resume(returning: report.exitCode)
            }
        }
        if status != 0 { throw ExitCode(status) }
    }

    private static func write(_ text: String, newline: Bool = true) {
        FileHandle.standardOutput.write(Data((newline ? text + "\n" : text).utf8))
    }
}
