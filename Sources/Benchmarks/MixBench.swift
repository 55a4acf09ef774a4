import BenchSupport
import Foundation

/// `mix`: isolation under load. A host with two C echo backends, A and B. Baseline: 64 sessions
/// call `B__echo`. Loaded: 200 more sessions each keep one `A__slow {"ms":2000}` in flight the
/// whole time while the same 64 sessions call `B__echo` again. B's p99 under load over its
/// baseline p99 is the figure (target ≤ 1.5); rounds alternate baseline and loaded.
struct MixBench {
    let env: BenchEnvironment
    let options: BenchOptions
    let reporter: Reporter

    static let slowSessions = 200
    static let slowMilliseconds = 2000

    func run() async throws {
        try env.require(env.echoServer)
        let config = try env.writeConfig("mix", servers: [("A", env.echoServer), ("B", env.echoServer)])
        let host = try HTTPHost.start(env, plugins: try env.minimalPlugins(), config: config, name: "mix")
        defer { host.stop() }
        let sessions = options.effectiveSessions, duration = options.effectiveDuration, rounds = options.effectiveRounds
        log("mix: \(sessions) sessions on B, \(Self.slowSessions) sessions with a \(Self.slowMilliseconds) ms call in flight on A, \(duration) s, \(rounds) round(s)")
        let fast = LoadRun(url: host.url, sessions: sessions, duration: duration, tool: "B__echo")
        // A runs from before B's loaded run starts until after it ends: its sessions open and
        // send their first calls during the 3 s head start; B needs about warm-up (1 s) +
        // duration + its own opening; 6 s of margin.
        let headStart = 3.0
        let slow = LoadRun(url: host.url, sessions: Self.slowSessions, duration: duration + 6, warmup: 0, tool: "A__slow",
                           arguments: #"{"ms":\#(Self.slowMilliseconds)}"#, timeout: 30)

        var baseline: [LoadReport] = [], loaded: [LoadReport] = [], slowReports: [LoadReport] = []
        for round in 1...rounds {
            let base = try await env.load(fast)
            let running = try RunningLoad(env, slow)
            let underLoad: LoadReport
            do {
                try await Task.sleep(for: .seconds(headStart))
                underLoad = try await env.load(fast)
            } catch {
                running.terminate()
                _ = try? await blocking { try running.wait() }
                throw error
            }
            let slowReport = try await blocking { try running.wait() }
            baseline.append(base)
            loaded.append(underLoad)
            slowReports.append(slowReport)
            log("mix round \(round): B p99 baseline \(base.latencyMicroseconds?.p99 ?? -1) µs, under load \(underLoad.latencyMicroseconds?.p99 ?? -1) µs; A \(slowReport.calls) calls, \(slowReport.errors) errors")
        }

        let mode = "mix", note = rounds > 1 ? "median of \(rounds)" : nil
        let baseP99 = Statistics.median(baseline.compactMap { $0.latencyMicroseconds?.p99 })
        let loadedP99 = Statistics.median(loaded.compactMap { $0.latencyMicroseconds?.p99 })
        reporter.add(mode: mode, "B alone: calls", Statistics.median(baseline.map(\.callsPerSecond)), .callsPerSecond, note: note)
        reporter.add(mode: mode, "B alone: latency p50", Statistics.median(baseline.compactMap { $0.latencyMicroseconds?.p50 }), .microseconds)
        reporter.add(mode: mode, "B alone: latency p99", baseP99, .microseconds, note: note)
        reporter.add(mode: mode, "B with A loaded: calls", Statistics.median(loaded.map(\.callsPerSecond)), .callsPerSecond, note: note)
        reporter.add(mode: mode, "B with A loaded: latency p50", Statistics.median(loaded.compactMap { $0.latencyMicroseconds?.p50 }), .microseconds)
        reporter.add(mode: mode, "B with A loaded: latency p99", loadedP99, .microseconds, note: note)
        let ratio: Double? = if let baseP99, let loadedP99, baseP99 > 0 { loadedP99 / baseP99 } else { nil }
        reporter.add(mode: mode, "B p99 with A loaded / alone", ratio, .ratio, target: .atMost(1.5))
        reporter.add(mode: mode, "B errors", Double((baseline + loaded).map(\.errors).reduce(0, +)), .count, target: .atMost(0), note: "all rounds")
        reporter.add(mode: mode, "A: slow calls answered", Double(slowReports.map(\.calls).reduce(0, +)), .count,
                     note: "\(Self.slowSessions) sessions, \(Self.slowMilliseconds) ms each, all rounds")
        reporter.add(mode: mode, "A: latency p50", Statistics.median(slowReports.compactMap { $0.latencyMicroseconds?.p50 }), .microseconds)
        reporter.add(mode: mode, "A errors", Double(slowReports.map(\.errors).reduce(0, +)), .count, target: .atMost(0), note: "all rounds")
    }
}
