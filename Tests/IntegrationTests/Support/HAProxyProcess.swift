import Foundation
import Locking

/// HAProxy (Debian's package) running `examples/haproxy/haproxy.cfg` (or its method-2 variant) in
/// the foreground (`-db`) on loopback ports, in front of the given hosts. The shipped example is what
/// runs: its addresses come from the environment (`MCPH_LB_BIND`, `MCPH_LB_STATS`, `MCPH_HOST_A`,
/// `MCPH_HOST_B`).
final class HAProxyProcess: @unchecked Sendable { // `process` is only started and signalled; the log is behind a lock
    let process = Process()
    /// The port clients use (the `mcp` frontend).
    let port: Int
    /// The port of HAProxy's status page (`/stats`, `/stats;csv`).
    let statsPort: Int
    private let logText = Locked<String>("")

    static var config: String { Paths.packageRoot + "/examples/haproxy/haproxy.cfg" }

    /// The example with its method 2 in place of method 1: the `use-server` lines dropped and the
    /// commented `stick` lines made active; written to `directory`, its path returned.
    static func stickTableVariant(in directory: String) throws -> String {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        var lines: [String] = []
        var enabled = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("    use-server ") { continue }
            if line.hasPrefix("    # stick") {
                lines.append("    " + line.dropFirst("    # ".count))
                enabled += 1
            } else {
                lines.append(String(line))
            }
        }
        guard enabled == 3, !text.isEmpty else { throw TestFailure("\(config) no longer has the three commented stick lines of method 2") }
        let path = directory + "/haproxy-stick-table.cfg"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `MCP_HOST_TEST_HAPROXY`, else `haproxy` on PATH or in the sbin directories (Debian installs it
    /// in /usr/sbin, which is not on every user's PATH). Missing, it is an error that says how to
    /// install it, never a skip: in CI (`CI` set) `.ci/run` must have installed it.
    static func executable() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["MCP_HOST_TEST_HAPROXY"] {
            guard FileManager.default.isExecutableFile(atPath: given) else { throw TestFailure("MCP_HOST_TEST_HAPROXY=\(given) is not an executable file") }
            return given
        }
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in path + ["/usr/sbin", "/usr/local/sbin", "/sbin"] {
            let candidate = directory + "/haproxy"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        if environment["CI"] != nil {
            throw TestFailure("haproxy is not installed, and CI is set: .ci/run must install it (apt-get install -y haproxy); HAProxyTests never skip")
        }
        throw TestFailure("haproxy is not installed: install it (Debian/Ubuntu: apt-get install haproxy) or point MCP_HOST_TEST_HAPROXY at it; HAProxyTests never skip")
    }

    /// Starts HAProxy in front of `hosts` (replica a, replica b). The two ports are picked by
    /// binding port 0 and closing it; if another process takes one before HAProxy binds it,
    /// HAProxy exits at once with "cannot bind", and it is started again on new ports (3 tries).
    static func start(hostA: Int, hostB: Int, config: String = HAProxyProcess.config) throws -> HAProxyProcess {
        let executable = try executable()
        var failures: [String] = []
        for _ in 0..<3 {
            let proxy = try HAProxyProcess(executable: executable, config: config, port: try unusedPort(),
                                           statsPort: try unusedPort(), hostA: hostA, hostB: hostB)
            if proxy.waitUntilListening() { return proxy }
            proxy.stop()
            failures.append(proxy.log)
            if !proxy.log.contains("cannot bind") { break } // not a port race: no point in trying again
        }
        throw TestFailure("haproxy did not start:\n\(failures.joined(separator: "\n---\n").suffix(4000))")
    }

    private init(executable: String, config: String, port: Int, statsPort: Int, hostA: Int, hostB: Int) throws {
        self.port = port
        self.statsPort = statsPort
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-f", config, "-db"]
        var environment = ProcessInfo.processInfo.environment
        environment["MCPH_LB_BIND"] = "127.0.0.1:\(port)"
        environment["MCPH_LB_STATS"] = "127.0.0.1:\(statsPort)"
        environment["MCPH_HOST_A"] = "127.0.0.1:\(hostA)"
        environment["MCPH_HOST_B"] = "127.0.0.1:\(hostB)"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let reader = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                logText.withLock { log in
                    log += String(decoding: chunk, as: UTF8.self)
                    // Bounded: past 1 MB the oldest half is dropped (the log is for failure messages).
                    if log.utf8.count > 1_000_000 { log = String(log.suffix(500_000)) }
                }
            }
        }
    }

    /// HAProxy's log (its stderr and stdout): one line per request, with the server that took it.
    var log: String { logText.withLock { $0 } }

    /// True once both listeners accept connections; false if HAProxy exited or 10 s passed.
    private func waitUntilListening() -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else { return false }
            if accepts(port) && accepts(statsPort) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    private func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return connectLoopback(fd, port: port) == 0
    }

    /// Each server's state in backend `mcp_hosts` as HAProxy's health checks see it (`UP`, `DOWN`,
    /// `UP 1/2` while rising, `DOWN 1/2` while falling), from the status page's CSV.
    func serverStates() async throws -> [String: String] {
        let page = try await HTTPEndpoint(port: statsPort).send("GET", "/stats;csv")
        guard page.status == 200 else { throw TestFailure("HAProxy's status page answered \(page.status): \(page.body.prefix(500))") }
        let lines = page.body.split(whereSeparator: \.isNewline).map(String.init)
        guard let header = lines.first, header.hasPrefix("# ") else { throw TestFailure("unexpected status CSV: \(page.body.prefix(500))") }
        let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let proxyColumn = columns.firstIndex(of: "pxname"), let serverColumn = columns.firstIndex(of: "svname"),
              let statusColumn = columns.firstIndex(of: "status") else {
            throw TestFailure("status CSV without pxname/svname/status columns: \(header)")
        }
        var states: [String: String] = [:]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > max(proxyColumn, serverColumn, statusColumn), fields[proxyColumn] == "mcp_hosts",
                  fields[serverColumn] != "BACKEND" else { continue }
            states[fields[serverColumn]] = fields[statusColumn]
        }
        return states
    }

    /// Waits until HAProxy's health checks see `server` in `state` (`UP` or `DOWN`). A transition
    /// state counts as its side (`UP 1/2`: up, one check failed since, as on a loaded machine whose
    /// host answered one check late; HAProxy still routes to it; `DOWN 1/2`: down, not routed to).
    func waitFor(server: String, state: String, timeout: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: String] = [:]
        while Date() < deadline {
            last = try await serverStates()
            if let current = last[server], current == state || current.hasPrefix(state + " ") { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("HAProxy did not see server \(server) \(state) within \(timeout) s (states: \(last)); log:\n\(log.suffix(3000))")
    }

    /// SIGTERM (HAProxy's immediate stop), then waits for the exit (SIGKILL after 10 s).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
