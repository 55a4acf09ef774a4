import Foundation
import Testing

/// A server script of `Tests/IntegrationTests/python` on 127.0.0.1, started as
/// `<arguments> --port <port> --ready-file <file> <options>` (port 0 = a free one, read back from
/// the ready file); its stderr is gathered as it comes. Killed (SIGKILL) by `stop()` or when
/// released, so a failing test leaves nothing behind. `PythonServer` and `TCPServer` are ones.
class ScriptServer: @unchecked Sendable { // the Process is only started and signalled; text sits behind a lock (`Shared`)
    let process: Process
    let port: Int
    /// The stderr line `readyWhen` accepted ("" without `readyWhen`).
    let readyLine: String
    private let stderrText: Shared<String>

    /// Starts the script and waits until its ready file holds a port and, with `readyWhen`, until a
    /// line of its stderr satisfies it. `name` and `hint` are for the failure's text.
    init(name: String, executable: String, arguments: [String], port: Int, options: [String], timeout: Double,
         hint: String = "", readyWhen: ((Substring) -> Bool)? = nil) throws {
        let ready = try Paths.temporaryDirectory() + "/ready"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments + ["--port", "\(port)", "--ready-file", ready] + options
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardError = pipe
        let text = Shared("")
        try process.run()
        let reader = pipe.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                text.value.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let contents = try? String(contentsOfFile: ready, encoding: .utf8), let chosen = Int(contents) {
                var line: Substring? = ""
                if let readyWhen { line = text.value.withLock { $0 }.split(separator: "\n").first(where: readyWhen) }
                if let line {
                    (self.process, self.stderrText, self.port, self.readyLine) = (process, text, chosen, String(line))
                    return
                }
            }
            if !process.isRunning || Date() > deadline {
                let reason = process.isRunning ? "did not get ready within \(timeout) s" : "exited with status \(process.terminationStatus)"
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw TestFailure("\(name) \(options.joined(separator: " ")) \(reason)\(hint):\n\(text.value.withLock { $0 }.suffix(3000))")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Everything it wrote to stderr so far.
    var stderr: String { stderrText.value.withLock { $0 } }

    /// Kills the server at once (SIGKILL: its connections and sessions die with it) and reaps it.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
