import BenchSupport
import Foundation

/// `stdio`: tool-call throughput against the same stdio backend, spoken to directly and through
/// mcp-host (stdio front-end, stdio transport plugin, supervisor, multiplexer), rounds alternating
/// so the ratio holds on a noisy machine; medians reported. Window 64 (pipelined) and window 1
/// (one call at a time, where the host's added latency per call shows).
struct StdioBench {
    let env: BenchEnvironment
    let options: BenchOptions
    let reporter: Reporter

    /// One measured run against one process.
    struct RunResult: Sendable {
        var callsPerSecond: Double
        /// Round trips in µs, one per call; only for window 1 (at most `--calls` values).
        var latencies: [Double]
        var hostRSS: Double?
        var hostCPUSeconds: Double?
        var children: ProcessTree?
    }

    func run() async throws {
        let server = options.backend == "echo" ? env.echoServer : env.exampleServer
        try env.require(server)
        try env.require(env.host)
        let config = try env.writeConfig("stdio", servers: [("example", server)])
        let plugins = try env.minimalPlugins()
        let windows = options.window.map { [$0] } ?? [64, 1]
        let calls = options.effectiveCalls, rounds = options.effectiveRounds
        let backendName = URL(fileURLWithPath: server).lastPathComponent
        let hostPath = env.host
        log("stdio: \(calls) calls, \(rounds) round(s), windows \(windows), backend \(backendName)")
        for window in windows {
            var direct: [RunResult] = [], proxied: [RunResult] = []
            for round in 1...rounds {
                let d = try await blocking { try Self.measure(executable: server, arguments: [], tool: "echo", calls: calls, window: window, isHost: false) }
                let state = try env.freshStateDirectory("stdio")
                let p = try await blocking {
                    try Self.measure(executable: hostPath, arguments: ["--plugins", plugins, "--config", config, "--state-dir", state, "--log-level", "error"],
                                     tool: "example__echo", calls: calls, window: window, isHost: true)
                }
                direct.append(d)
                proxied.append(p)
                log("stdio window \(window) round \(round): direct \(Int(d.callsPerSecond)) calls/s, through mcp-host \(Int(p.callsPerSecond)) calls/s")
            }
            report(window: window, direct: direct, proxied: proxied, rounds: rounds, calls: calls)
        }
    }

    private func report(window: Int, direct: [RunResult], proxied: [RunResult], rounds: Int, calls: Int) {
        let mode = "stdio"
        let note = rounds > 1 ? "median of \(rounds)" : nil
        let d = Statistics.median(direct.map(\.callsPerSecond))
        let p = Statistics.median(proxied.map(\.callsPerSecond))
        let label = window == 1 ? "one call at a time" : "\(window) in flight"
        reporter.add(mode: mode, "\(label): direct", d, .callsPerSecond, note: note)
        reporter.add(mode: mode, "\(label): through mcp-host", p, .callsPerSecond, note: note)
        let ratio: Double? = if let d, let p, d > 0 { p / d } else { nil }
        reporter.add(mode: mode, "\(label): ratio through / direct", ratio, .ratio, target: window == 64 ? .atLeast(0.5) : nil)
        if window == 1 {
            let added: Double? = if let d, let p, d > 0, p > 0 { 1e6 / p - 1e6 / d } else { nil }
            reporter.add(mode: mode, "one call at a time: added per call", added, .microseconds, target: .atMost(20))
            // Percentiles over every call of every round.
            let directLatencies = direct.flatMap(\.latencies).sorted(), proxiedLatencies = proxied.flatMap(\.latencies).sorted()
            for (name, sorted) in [("direct", directLatencies), ("through mcp-host", proxiedLatencies)] {
                reporter.add(mode: mode, "one call at a time: \(name) latency p50", Statistics.percentile(sorted: sorted, 50), .microseconds)
                reporter.add(mode: mode, "one call at a time: \(name) latency p99", Statistics.percentile(sorted: sorted, 99), .microseconds)
            }
        }
        let rss = Statistics.median(proxied.compactMap(\.hostRSS))
        reporter.add(mode: mode, "\(label): host RSS at the end", rss, .megabytes)
        let cpu = Statistics.median(proxied.compactMap { $0.hostCPUSeconds.map { $0 * 1000 / Double(calls) * 1000 } })
        reporter.add(mode: mode, "\(label): host CPU per 1000 calls", cpu, .milliseconds,
                     note: "host process only, not its backend")
        if window == 64 || options.window != nil, let tree = proxied.first?.children {
            reporter.add(mode: mode, "host child processes (direct)", Double(tree.children.count), .count)
            reporter.add(mode: mode, "host child processes (whole tree)", Double(tree.descendants.count), .count)
        }
    }

    /// Starts an MCP server (or the host) on stdio, initializes it, warms up with one call, then
    /// keeps `window` calls in flight until `calls` have been answered.
    static func measure(executable: String, arguments: [String], tool: String, calls: Int, window: Int, isHost: Bool) throws -> RunResult {
        let child = try ChildProcess(executable: executable, arguments: arguments, captureOutput: true)
        defer { child.stop() }
        let writer = child.input.fileHandleForWriting
        var reader = ResponseCounter(handle: child.output.fileHandleForReading)
        writer.write(Data(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#.utf8 + [0x0A]))
        _ = try reader.waitForResponses(1)
        writer.write(Data(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8 + [0x0A]))
        // Warm-up: start the backend (through the host) and fill caches.
        writer.write(Data(call(id: 1, tool: tool).utf8))
        _ = try reader.waitForResponses(1)
        if reader.errors > 0 {
            throw BenchError("\(URL(fileURLWithPath: executable).lastPathComponent) answered the warm-up call with an error (see its stderr: plugins, config)")
        }

        let cpu = isHost ? CPUMeter(pid: child.pid) : nil
        // Window 1 keeps one round trip per call: `calls` values (at most 10,000,000 by the option's range).
        var latencies: [Double] = []
        if window == 1 { latencies.reserveCapacity(calls) }
        let start = monotonicNanoseconds()
        var sent = 0, answered = 0
        while answered < calls {
            var batch = ""
            while sent < calls && sent - answered < window {
                batch += call(id: sent + 2, tool: tool)
                sent += 1
            }
            let sentAt = monotonicNanoseconds()
            if !batch.isEmpty { writer.write(Data(batch.utf8)) }
            answered += try reader.waitForResponses(1, atMost: sent - answered)
            if window == 1 {
                latencies.append(Double(elapsedNanoseconds(from: sentAt, to: monotonicNanoseconds())) / 1000)
            }
        }
        let elapsed = seconds(since: start)
        if reader.errors > 0 {
            throw BenchError("\(reader.errors) of \(calls) calls were answered with an error: the figures would measure errors, not calls")
        }
        let cpuSeconds = cpu?.finish()
        let rss = isHost ? ProcessStats.residentMegabytes(child.pid) : nil
        let tree = isHost ? ProcessStats.tree(child.pid) : nil
        return RunResult(callsPerSecond: elapsed > 0 ? Double(calls) / elapsed : 0, latencies: latencies,
                         hostRSS: rss, hostCPUSeconds: cpuSeconds, children: tree)
    }

    static func call(id: Int, tool: String) -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":{"text":"hello, benchmark"}}}"# + "\n"
    }
}

/// Counts answers on a pipe (blocking reads), and the error answers among them.
struct ResponseCounter {
    let handle: FileHandle
    var pending = 0
    private var scan = ResponseScan()

    init(handle: FileHandle) { self.handle = handle }

    /// Error answers seen so far (the measurement is void unless this stays 0).
    var errors: Int { scan.errors }

    /// Blocks until at least `minimum` more lines arrived; returns how many did (at most `atMost`
    /// are counted now, the rest stay for the next call).
    mutating func waitForResponses(_ minimum: Int, atMost: Int = .max) throws -> Int {
        while pending < minimum {
            let chunk = handle.availableData
            if chunk.isEmpty { throw BenchError("the server closed its output before answering") }
            let before = scan.lines
            chunk.withUnsafeBytes { scan.feed($0) }
            pending += scan.lines - before
        }
        let taken = min(pending, atMost)
        pending -= taken
        return taken
    }
}
