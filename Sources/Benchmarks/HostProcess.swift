import BenchSupport
import Foundation
import Synchronization

/// A child process (mcp-host, or a backend spoken to directly) with its stderr drained on a thread
/// into a bounded tail, so the child never blocks on a full stderr pipe.
///
/// `@unchecked Sendable`: the `Process` and pipe handles are used by one task at a time (start,
/// then stop); the only state shared with the drain thread is the tail, behind its mutex.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    private let errors = Pipe()
    private let tail = StderrTail()

    /// `captureOutput`: stdin and stdout are pipes (the stdio front-end); otherwise stdin is
    /// /dev/null and stdout goes to /dev/null.
    init(executable: String, arguments: [String], captureOutput: Bool, environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if captureOutput {
            process.standardInput = input
            process.standardOutput = output
        } else {
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
        }
        process.standardError = errors
        try process.run()
        let handle = errors.fileHandleForReading
        let tail = self.tail
        Thread {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                tail.append(chunk)
            }
        }.start()
    }

    var pid: Int32 { process.processIdentifier }
    var stderrTail: String { tail.text }

    /// Waits until stderr shows `http://127.0.0.1:PORT/mcp` and returns that URL.
    func waitForHTTPURL(timeout: Double = 30) throws -> String {
        let start = monotonicNanoseconds()
        while seconds(since: start) < timeout {
            let text = tail.text
            if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+/mcp"#, options: .regularExpression) {
                return String(text[range])
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw BenchError("mcp-host did not start serving HTTP within \(Int(timeout)) s; its stderr ends with:\n\(tail.text.suffix(2000))")
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for the exit.
    func stop(grace: Double = 10) {
        try? input.fileHandleForWriting.close()
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let start = monotonicNanoseconds()
        while process.isRunning && seconds(since: start) < grace { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

/// The last 64 KiB of a child's stderr; older text is dropped at the bound.
final class StderrTail: Sendable {
    private static let bound = 64 * 1024
    private let bytes = Mutex<[UInt8]>([])

    func append(_ data: Data) {
        bytes.withLock { bytes in
            bytes.append(contentsOf: data)
            if bytes.count > Self.bound { bytes.removeFirst(bytes.count - Self.bound) }
        }
    }

    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// mcp-host serving Streamable HTTP on an ephemeral loopback port.
struct HTTPHost: Sendable {
    let child: ChildProcess
    let url: String
    var pid: Int32 { child.pid }

    /// Starts the host (`--http 127.0.0.1:0`, logs at info so that the URL line shows, a fresh
    /// state directory) and waits for its URL.
    static func start(_ env: BenchEnvironment, plugins: String, config: String, name: String) throws -> HTTPHost {
        try env.require(env.host)
        let state = try env.freshStateDirectory(name)
        let child = try ChildProcess(executable: env.host, arguments: [
            "--plugins", plugins, "--config", config, "--state-dir", state, "--log-level", "info",
            "--http", "127.0.0.1:0", "--max-sessions", "10000", "--shutdown-timeout", "1s",
        ], captureOutput: false)
        do {
            return HTTPHost(child: child, url: try child.waitForHTTPURL())
        } catch {
            child.stop()
            throw error
        }
    }

    func stop() { child.stop() }
}
