import BenchSupport
import Foundation

/// `scale`: 1,000 sessions, each with its GET event stream open, all calling `example__echo` on
/// their own keep-alive connections. No errors; fair share (per-session calls: min, median, max);
/// the host's RSS peak sampled every 100 ms during the run (target ≤ 80 MB).
struct ScaleBench {
    let env: BenchEnvironment
    let options: BenchOptions
    let reporter: Reporter

    func run() async throws {
        try env.require(env.echoServer)
        let config = try env.writeConfig("scale", servers: [("example", env.echoServer)])
        let host = try HTTPHost.start(env, plugins: try env.minimalPlugins(), config: config, name: "scale")
        defer { host.stop() }
        let sessions = options.effectiveScaleSessions
        let duration = max(options.effectiveDuration, options.quick ? 3 : 10)
        log("scale: \(sessions) sessions with GET streams, \(duration) s")
        let sampler = RSSSampler(pid: host.pid)
        let cpu = CPUMeter(pid: host.pid)
        let report: LoadReport
        do {
            report = try await env.load(LoadRun(url: host.url, sessions: sessions, duration: duration, getStreams: true,
                                                timeout: 30, openConcurrency: 64))
        } catch {
            _ = sampler.stop()
            throw error
        }
        let cpuSeconds = cpu.finish()
        let peak = sampler.stop()

        let mode = "scale"
        reporter.add(mode: mode, "\(sessions) sessions with GET streams: calls", report.callsPerSecond, .callsPerSecond)
        reporter.add(mode: mode, "latency p50", report.latencyMicroseconds?.p50, .microseconds)
        reporter.add(mode: mode, "latency p99", report.latencyMicroseconds?.p99, .microseconds)
        reporter.add(mode: mode, "errors", Double(report.errors), .count, target: .atMost(0))
        reporter.add(mode: mode, "GET streams open at the end", report.getStreams.map { Double($0) }, .count, target: .atLeast(Double(sessions)))
        if let spread = report.perSession?.spread {
            reporter.add(mode: mode, "per-session calls: min", spread.min, .count)
            reporter.add(mode: mode, "per-session calls: median", spread.median, .count)
            reporter.add(mode: mode, "per-session calls: max", spread.max, .count)
            reporter.add(mode: mode, "per-session calls: min / median", spread.minOverMedian, .ratio)
        } else {
            reporter.add(mode: mode, "per-session calls: min / median", nil, .ratio)
        }
        reporter.add(mode: mode, "sessions opened in", report.openSeconds, .seconds)
        reporter.add(mode: mode, "host RSS peak", peak, .megabytes, target: .atMost(80), note: "sampled every 100 ms")
        let perThousand: Double? = if let cpuSeconds, report.calls > 0 { cpuSeconds * 1000 / Double(report.calls) * 1000 } else { nil }
        reporter.add(mode: mode, "host CPU per 1000 calls", perThousand, .milliseconds, note: "host process; includes opening and warm-up")
        reporter.addProcessCounts(mode: mode, hostPID: host.pid)
    }
}
