import BenchSupport
import Foundation

/// One run of `mcp-bench-load` (the C HTTP load generator, run as a child), parsed from the one
/// JSON line it prints on stdout. Its stderr (progress, diagnostics) passes through to ours.
struct LoadRun: Sendable {
    var url: String
    var sessions = 64
    var duration: Double = 5
    var warmup: Double?
    var tool = "example__echo"
    var arguments: String?
    var sse = false
    var getStreams = false
    var plain = false
    var timeout: Double?
    var bearer: String?
    var openConcurrency: Int?

    var commandLine: [String] {
        var args = ["--url", url, "--sessions", String(sessions), "--duration", String(duration), "--tool", tool]
        if let warmup { args += ["--warmup", String(warmup)] }
        if let arguments { args += ["--arguments", arguments] }
        if sse { args.append("--sse") }
        if getStreams { args.append("--get-streams") }
        if plain { args.append("--plain") }
        if let timeout { args += ["--timeout", String(timeout)] }
        if let bearer { args += ["--bearer", bearer] }
        if let openConcurrency { args += ["--open-concurrency", String(openConcurrency)] }
        return args
    }
}

/// A load run in progress (started, not yet waited for), so that two can overlap (the mix).
///
/// `@unchecked Sendable`: the process and pipe are touched by `wait()` only, called once.
final class RunningLoad: @unchecked Sendable {
    let process = Process()
    let output = Pipe()
    let run: LoadRun

    init(_ env: BenchEnvironment, _ run: LoadRun) throws {
        try env.require(env.loader)
        self.run = run
        process.executableURL = URL(fileURLWithPath: env.loader)
        process.arguments = run.commandLine
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        try process.run()
    }

    /// Reads stdout to its end (one short JSON line), waits for the exit, and parses the report.
    func wait() throws -> LoadReport {
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        switch process.terminationStatus {
        case 0: return try LoadReport.parse(text)
        case 1: throw BenchError("mcp-bench-load could not open its sessions (see its stderr above); arguments: \(run.commandLine.joined(separator: " "))")
        case 2: throw BenchError("mcp-bench-load refused its arguments (usage error): \(run.commandLine.joined(separator: " "))")
        default: throw BenchError("mcp-bench-load ended with status \(process.terminationStatus); arguments: \(run.commandLine.joined(separator: " "))")
        }
    }

    /// Stops a run early (the driver failed elsewhere); the loader prints its report on SIGTERM.
    func terminate() {
        if process.isRunning { process.terminate() }
    }
}

extension BenchEnvironment {
    /// Runs the loader to its end, off the cooperative pool.
    func load(_ run: LoadRun) async throws -> LoadReport {
        let running = try RunningLoad(self, run)
        return try await blocking { try running.wait() }
    }
}
