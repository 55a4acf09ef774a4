import BenchSupport
import Foundation

/// `memory`: the host with every bundled plugin loaded (plugins.d as shipped, resolving to this
/// build's libraries), 10 stdio echo backends all started (one call each) and 100 idle HTTP
/// sessions: RSS (target ≤ 40 MB); then 1,000 more idle sessions: the RSS growth per session
/// (target ≤ 30 KB). And start-up: from spawning the host (stdio front-end, fresh empty state
/// directory, so no catalog cache) to the answer of the first `tools/list` with 2 C echo
/// backends, median of 5 (target ≤ 50 ms).
struct MemoryBench {
    let env: BenchEnvironment
    let options: BenchOptions
    let reporter: Reporter

    static let backends = 10
    static let idleSessions = 100
    static let furtherSessions = 1000

    func run() async throws {
        try env.require(env.echoServer)
        let plugins = try env.shippedPlugins(options.pluginsDirectory)
        try await idleMemory(plugins: plugins)
        try await startUp(plugins: plugins)
    }

    private func idleMemory(plugins: String) async throws {
        let servers = (1...Self.backends).map { (name: "b\($0)", command: env.echoServer) }
        let config = try env.writeConfig("memory", servers: servers)
        let host = try HTTPHost.start(env, plugins: plugins, config: config, name: "memory")
        defer { host.stop() }
        let url = host.url, mode = "memory"
        log("memory: \(plugins) (every plugin), \(Self.backends) backends, \(Self.idleSessions) then +\(Self.furtherSessions) idle sessions")
        let (first, further, held) = try await blocking { () throws -> (Double?, Double?, Int?) in
            // Session 1 starts every backend with one call each; 99 more stay idle.
            let caller = try MCPSessions.open(url: url)
            for (index, server) in servers.enumerated() {
                try MCPSessions.call(url: url, session: caller, tool: "\(server.name)__echo", id: index + 2)
            }
            for _ in 1..<Self.idleSessions { _ = try MCPSessions.open(url: url) }
            Thread.sleep(forTimeInterval: 1) // let the last requests' buffers go
            let first = ProcessStats.residentBytes(host.pid)
            for _ in 0..<Self.furtherSessions { _ = try MCPSessions.open(url: url) }
            Thread.sleep(forTimeInterval: 1)
            let further = ProcessStats.residentBytes(host.pid)
            log("memory: host RSS \(first.map(String.init) ?? "unreadable") bytes with \(Self.idleSessions) sessions, \(further.map(String.init) ?? "unreadable") bytes with \(Self.idleSessions + Self.furtherSessions)")
            return (first.map { Double($0) }, further.map { Double($0) }, MCPSessions.activeClients(url: url))
        }
        reporter.add(mode: mode, "RSS: every plugin, \(Self.backends) backends, \(Self.idleSessions) idle sessions",
                     first.map { $0 / 1_048_576 }, .megabytes, target: .atMost(40))
        let perSession: Double? = if let first, let further { (further - first) / Double(Self.furtherSessions) / 1024 } else { nil }
        reporter.add(mode: mode, "RSS per further idle session", perSession, .kilobytes, target: .atMost(30),
                     note: "growth over \(Self.furtherSessions) sessions")
        reporter.add(mode: mode, "sessions the host holds (/health active_clients)", held.map { Double($0) }, .count,
                     target: .atLeast(Double(Self.idleSessions + Self.furtherSessions)))
        reporter.addProcessCounts(mode: mode, hostPID: host.pid, note: "\(Self.backends) backends")
    }

    private func startUp(plugins: String) async throws {
        let config = try env.writeConfig("startup", servers: [("a", env.echoServer), ("b", env.echoServer)])
        let runs = options.quick ? 3 : 5
        var times: [Double] = []
        var complete = true
        let hostPath = env.host
        for _ in 0..<runs {
            let state = try env.freshStateDirectory("startup")
            let (milliseconds, bothListed) = try await blocking {
                try Self.timeToFirstList(host: hostPath, arguments: ["--plugins", plugins, "--config", config, "--state-dir", state, "--log-level", "error"])
            }
            times.append(milliseconds)
            complete = complete && bothListed
        }
        reporter.add(mode: "memory", "start-up to the first tools/list (2 backends)", Statistics.median(times), .milliseconds,
                     target: .atMost(50), note: "median of \(runs)" + (complete ? "" : "; NOT every answer listed both backends' tools"))
    }

    /// Spawns the host, sends initialize, initialized and tools/list at once, and returns the
    /// milliseconds until the tools/list answer, and whether it listed both backends' tools.
    static func timeToFirstList(host: String, arguments: [String]) throws -> (Double, Bool) {
        let start = monotonicNanoseconds()
        let child = try ChildProcess(executable: host, arguments: arguments, captureOutput: true)
        defer { child.stop() }
        let messages = [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
            #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        ]
        child.input.fileHandleForWriting.write(Data((messages.joined(separator: "\n") + "\n").utf8))
        let reader = child.output.fileHandleForReading
        var buffered: [UInt8] = []
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { throw BenchError("mcp-host closed its output before answering tools/list; stderr: \(child.stderrTail.suffix(1000))") }
            buffered.append(contentsOf: chunk)
            // Bounded: only whole lines are kept until the answer; notifications before it are dropped.
            while let newline = buffered.firstIndex(of: 0x0A) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                if line.contains(#""id":2"#) {
                    let milliseconds = Double(elapsedNanoseconds(from: start, to: monotonicNanoseconds())) / 1e6
                    return (milliseconds, line.contains("a__echo") && line.contains("b__echo"))
                }
            }
        }
    }
}
