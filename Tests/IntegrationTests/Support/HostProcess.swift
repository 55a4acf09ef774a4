import Foundation
import Locking
import Testing

/// Where the package and its built products are.
enum Paths {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() } // Support, IntegrationTests, Tests
        return url.path
    }()

    /// `.build/debug` (or MCP_HOST_BUILD_DIR): `swift build` puts the binary, plugins and supervisor there.
    static var buildDir: String {
        ProcessInfo.processInfo.environment["MCP_HOST_BUILD_DIR"] ?? packageRoot + "/.build/debug"
    }

    static var host: String { buildDir + "/mcp-host" }
    static var exampleServer: String { buildDir + "/mcp-example-server" }
    /// `plugins.d` (or MCP_HOST_PLUGINS_DIR: scripts/tsan points a TSan host at uninstrumented plugins).
    static var pluginsDir: String { ProcessInfo.processInfo.environment["MCP_HOST_PLUGINS_DIR"] ?? packageRoot + "/plugins.d" }
    static var fakeBackend: String { packageRoot + "/Tests/IntegrationTests/python/fake_backend.py" }
    static var pythonDir: String { packageRoot + "/Tests/IntegrationTests/python" }

    /// The interpreter of the venv that has the MCP Python SDK (scripts/test creates it).
    static var sdkPython: String {
        ProcessInfo.processInfo.environment["MCP_HOST_TEST_PYTHON"] ?? packageRoot + "/.venv/bin/python"
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "mcph-test-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A new state directory for one mcp-host (its catalog cache, plugins' state), unless the test
    /// gives `MCP_HOST_STATE_DIR` itself: tests never share a cache through ~/.local/state. (A
    /// `--state-dir` flag still wins over it.)
    static func stateDirectory(unless environment: [String: String]) throws -> String {
        if let given = environment["MCP_HOST_STATE_DIR"] { return given }
        return try temporaryDirectory() + "/state"
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes a servers file and returns its path.
func writeConfig(_ servers: [String: Any], in directory: String, name: String = "servers.json") throws -> String {
    let path = directory + "/" + name
    let data = try JSONSerialization.data(withJSONObject: ["mcpServers": servers], options: [.sortedKeys])
    try data.write(to: URL(fileURLWithPath: path))
    return path
}

/// A fake backend entry (the Python script in Tests/IntegrationTests/python), logging what it receives.
func fakeServer(name: String, log: String? = nil) -> [String: Any] {
    var env = ["FAKE_BACKEND_NAME": name]
    if let log { env["FAKE_BACKEND_LOG"] = log }
    return ["command": "python3", "args": ["-u", Paths.fakeBackend], "env": env]
}

/// The real mcp-host binary running as a child, spoken to over its stdin/stdout.
final class HostProcess: @unchecked Sendable {
    let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let lines = Locked<[String]>([])
    private let allLines = Locked<[String]>([])
    private let stderrText = Locked<String>("")
    private let newLine = DispatchSemaphore(value: 0)

    init(arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: Paths.host)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["MCP_HOST_EXAMPLE_SERVER"] = Paths.exampleServer
        env["MCP_HOST_STATE_DIR"] = try Paths.stateDirectory(unless: environment)
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: Paths.packageRoot)
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
        let stdout = stdoutPipe.fileHandleForReading
        // The reader threads hold only what they fill, never `self`: a test that drops its host
        // without stopping it then still gets it terminated by `deinit` (with `self` captured, the
        // threads kept it alive until the host exited, which it never did, and hosts leaked).
        let lines = self.lines, allLines = self.allLines, newLine = self.newLine, stderrText = self.stderrText
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = stdout.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer = Data(buffer[(newline + 1)...])
                    lines.withLock { $0.append(line) }
                    allLines.withLock { $0.append(line) }
                    newLine.signal()
                }
            }
            newLine.signal()
        }
        let stderr = stderrPipe.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let chunk = stderr.availableData
                if chunk.isEmpty { break }
                stderrText.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
        }
    }

    /// Convenience: serve the given config with the repository's plugins.
    convenience init(config: String, extra: [String] = [], environment: [String: String] = [:]) throws {
        try self.init(arguments: ["--plugins", Paths.pluginsDir, "--config", config, "--log-level", "debug"] + extra,
                      environment: environment)
    }

    /// A host serving `servers` (config written into `directory`), already initialized as a client.
    static func initialized(_ servers: [String: Any], in directory: String, extra: [String] = []) throws -> HostProcess {
        let host = try HostProcess(config: try writeConfig(servers, in: directory), extra: extra)
        try host.initialize()
        return host
    }

    var stderr: String { stderrText.withLock { $0 } }

    func send(_ line: String) {
        stdinPipe.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    func send(_ object: [String: Any]) throws {
        send(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }

    func closeStdin() { try? stdinPipe.fileHandleForWriting.close() }

    /// The stdout lines not yet taken by `next`/`response`.
    var output: [String] { lines.withLock { $0 } }

    /// Every stdout line the host wrote.
    var everyLine: [String] { allLines.withLock { $0 } }

    /// Waits for (and removes) the first stdout line whose JSON satisfies `match`.
    func next(timeout: Double = 20, _ what: String = "a message", where match: ([String: Any]) -> Bool) throws -> (line: String, json: [String: Any]) {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let found: (String, [String: Any])? = lines.withLock { lines in
                for (index, line) in lines.enumerated() {
                    if let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any], match(json) {
                        lines.remove(at: index)
                        return (line, json)
                    }
                }
                return nil
            }
            if let found { return found }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { throw TestFailure("timed out waiting for \(what); stdout so far: \(output)\nstderr:\n\(stderr.suffix(4000))") }
            _ = newLine.wait(timeout: .now() + min(left, 0.2))
        }
    }

    /// The response to request `id` (compared as JSON: 7 and "7" differ).
    func response(id: Any, timeout: Double = 20) throws -> [String: Any] {
        try next(timeout: timeout, "the response to id \(id)") { json in
            guard json["result"] != nil || json["error"] != nil else { return false }
            return sameID(json["id"], id)
        }.json
    }

    func request(_ id: Any, _ method: String, _ params: [String: Any]? = nil) throws {
        var message: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method]
        if let params { message["params"] = params }
        try send(message)
    }

    func initialize() throws {
        try request("init", "initialize", ["protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "swift-test", "version": "1"]])
        _ = try response(id: "init")
        try send(["jsonrpc": "2.0", "method": "notifications/initialized"])
    }

    /// Waits for the host to exit; returns its status.
    @discardableResult
    func waitForExit(timeout: Double = 20) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { throw TestFailure("mcp-host did not exit within \(timeout) s; stderr:\n\(stderr.suffix(3000))") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// JSON-RPC id equality that keeps 7 and "7" apart.
func sameID(_ a: Any?, _ b: Any) -> Bool {
    switch (a, b) {
    case (let x as String, let y as String): return x == y
    case (is String, _), (_, is String): return false
    case (let x as NSNumber, let y as NSNumber): return x == y
    default: return false
    }
}

/// Text of the first content item of a tools/call result.
func firstText(_ response: [String: Any]) -> String? {
    ((response["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String
}

/// Runs a command to completion and returns (status, stdout, stderr).
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], cwd: String = Paths.packageRoot) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["MCP_HOST_EXAMPLE_SERVER"] = Paths.exampleServer
    // Also for a host started by the program run (the Python SDK client spawns one).
    env["MCP_HOST_STATE_DIR"] = try Paths.stateDirectory(unless: environment)
    for (k, v) in environment { env[k] = v }
    process.environment = env
    process.currentDirectoryURL = URL(fileURLWithPath: cwd)
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let errData = Locked(Data())
    let errThread = Thread { errData.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
    errThread.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while errThread.isExecuting || !errThread.isFinished { Thread.sleep(forTimeInterval: 0.01) }
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.withLock { $0 }, as: UTF8.self))
}

/// Pids of live processes whose command line contains `marker` (supervisors excluded on request:
/// their command line repeats the backend's).
func processes(containing marker: String, excludingSupervisors: Bool = false) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap(Int32.init).filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let cmdline = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        if let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
           String(decoding: stat, as: UTF8.self).contains(") Z ") { return false } // zombies are gone
        if excludingSupervisors && cmdline.contains("mcph-supervisor") { return false }
        return cmdline.contains(marker)
    }
}

/// Waits until no process with `marker` is left; returns the survivors otherwise.
func waitForNoProcesses(containing marker: String, timeout: Double = 10) -> [Int32] {
    let deadline = Date().addingTimeInterval(timeout)
    var left = processes(containing: marker)
    while !left.isEmpty && Date() < deadline {
        Thread.sleep(forTimeInterval: 0.1)
        left = processes(containing: marker)
    }
    return left
}
