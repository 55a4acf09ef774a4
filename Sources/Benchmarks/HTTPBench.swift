import BenchSupport
import Foundation

/// `http`: mcp-host's Streamable HTTP front-end with the C echo backend, 64 sessions on their own
/// keep-alive connections (JSON answers, then SSE answers), and the framework floor (a Hummingbird
/// route in this binary) driven over the same 64 connections with `--plain`; rounds alternate and
/// medians are compared. With `--url`, only one run against that endpoint.
struct HTTPBench {
    let env: BenchEnvironment
    let options: BenchOptions
    let reporter: Reporter

    func run() async throws {
        if let url = options.url { return try await runExternal(url) }
        try env.require(env.echoServer)
        let config = try env.writeConfig("http", servers: [("example", env.echoServer)])
        let host = try HTTPHost.start(env, plugins: try env.minimalPlugins(), config: config, name: "http")
        defer { host.stop() }
        let floor = try await FloorServer.start()
        let sessions = options.effectiveSessions, duration = options.effectiveDuration, rounds = options.effectiveRounds
        log("http: \(sessions) sessions, \(duration) s per run, \(rounds) round(s); host \(host.url), floor \(floor.url)")

        var json: [LoadReport] = [], sse: [LoadReport] = [], floors: [LoadReport] = []
        var rss: [Double] = [], cpuPerThousand: [Double] = []
        do {
            for round in 1...rounds {
                let cpu = CPUMeter(pid: host.pid)
                let j = try await env.load(LoadRun(url: host.url, sessions: sessions, duration: duration))
                if let seconds = cpu.finish(), j.calls > 0 {
                    // The loader's warm-up (1 s) is in the CPU interval but not in its count: the
                    // figure is an upper bound of the cost per call.
                    cpuPerThousand.append(seconds * 1000 / Double(j.calls) * 1000)
                }
                if let now = ProcessStats.residentMegabytes(host.pid) { rss.append(now) }
                let s = try await env.load(LoadRun(url: host.url, sessions: sessions, duration: duration, sse: true))
                let f = try await env.load(LoadRun(url: floor.url, sessions: sessions, duration: duration, plain: true))
                json.append(j)
                sse.append(s)
                floors.append(f)
                log("http round \(round): JSON \(Int(j.callsPerSecond)) calls/s, SSE \(Int(s.callsPerSecond)) calls/s, floor \(Int(f.callsPerSecond)) calls/s")
            }
        } catch {
            await floor.stop()
            throw error
        }
        await floor.stop()

        let mode = "http", note = rounds > 1 ? "median of \(rounds)" : nil
        let jsonRate = Statistics.median(json.map(\.callsPerSecond))
        let floorRate = Statistics.median(floors.map(\.callsPerSecond))
        reporter.add(mode: mode, "JSON answers, \(sessions) sessions", jsonRate, .callsPerSecond, target: .atLeast(30_000), note: note)
        reporter.add(mode: mode, "JSON answers: latency p50", Statistics.median(json.compactMap { $0.latencyMicroseconds?.p50 }), .microseconds)
        reporter.add(mode: mode, "JSON answers: latency p99", Statistics.median(json.compactMap { $0.latencyMicroseconds?.p99 }), .microseconds, target: .atMost(5_000))
        reporter.add(mode: mode, "JSON answers: errors", Double(json.map(\.errors).reduce(0, +)), .count, target: .atMost(0), note: "all rounds")
        reporter.add(mode: mode, "SSE answers, \(sessions) sessions", Statistics.median(sse.map(\.callsPerSecond)), .callsPerSecond, note: note)
        reporter.add(mode: mode, "SSE answers: latency p50", Statistics.median(sse.compactMap { $0.latencyMicroseconds?.p50 }), .microseconds)
        reporter.add(mode: mode, "SSE answers: latency p99", Statistics.median(sse.compactMap { $0.latencyMicroseconds?.p99 }), .microseconds)
        reporter.add(mode: mode, "SSE answers: errors", Double(sse.map(\.errors).reduce(0, +)), .count, target: .atMost(0), note: "all rounds")
        reporter.add(mode: mode, "floor (Hummingbird route), \(sessions) connections", floorRate, .callsPerSecond, note: note)
        reporter.add(mode: mode, "floor: latency p99", Statistics.median(floors.compactMap { $0.latencyMicroseconds?.p99 }), .microseconds)
        let ratio: Double? = if let jsonRate, let floorRate, floorRate > 0 { jsonRate / floorRate } else { nil }
        reporter.add(mode: mode, "JSON answers / floor", ratio, .ratio, target: .atLeast(0.6))
        reporter.add(mode: mode, "host RSS after the JSON run", Statistics.median(rss), .megabytes)
        reporter.add(mode: mode, "host CPU per 1000 calls (JSON)", Statistics.median(cpuPerThousand), .milliseconds,
                     note: "host process; includes the 1 s warm-up")
        reporter.addProcessCounts(mode: mode, hostPID: host.pid)
    }

    /// `floor` alone: the Hummingbird route's figure without a host.
    func runFloorOnly() async throws {
        let floor = try await FloorServer.start()
        let sessions = options.effectiveSessions, duration = options.effectiveDuration
        let report: LoadReport
        do {
            report = try await env.load(LoadRun(url: floor.url, sessions: sessions, duration: duration, plain: true))
        } catch {
            await floor.stop()
            throw error
        }
        await floor.stop()
        reporter.add(mode: "floor", "Hummingbird route, \(sessions) connections", report.callsPerSecond, .callsPerSecond)
        reporter.add(mode: "floor", "latency p50", report.latencyMicroseconds?.p50, .microseconds)
        reporter.add(mode: "floor", "latency p99", report.latencyMicroseconds?.p99, .microseconds)
        reporter.add(mode: "floor", "errors", Double(report.errors), .count, target: .atMost(0))
    }

    /// `--url URL --tool NAME`: one run against an endpoint already running (e.g. HAProxy in front
    /// of several hosts).
    private func runExternal(_ url: String) async throws {
        let sessions = options.effectiveSessions
        let report = try await env.load(LoadRun(url: url, sessions: sessions, duration: options.effectiveDuration,
                                                tool: options.tool ?? "example__echo", arguments: options.arguments,
                                                sse: options.sse, bearer: options.bearer))
        let mode = "url", kind = options.sse ? "SSE" : "JSON"
        reporter.add(mode: mode, "\(kind) answers, \(sessions) sessions", report.callsPerSecond, .callsPerSecond, note: url)
        reporter.add(mode: mode, "latency p50", report.latencyMicroseconds?.p50, .microseconds)
        reporter.add(mode: mode, "latency p99", report.latencyMicroseconds?.p99, .microseconds)
        reporter.add(mode: mode, "errors", Double(report.errors), .count, target: .atMost(0))
        if let spread = report.perSession?.spread {
            reporter.add(mode: mode, "per-session calls: min / median", spread.minOverMedian, .ratio)
        }
    }
}
