import Foundation
import Locking
import Testing

/// What the HTTP transport tests need: the venv's Python with the MCP SDK and the built HTTP
/// transport plugin. Missing either is a failure with the fix in its message, never a skip.
enum HTTPTransportPrerequisites {
    static var plugin: String { Paths.buildDir + "/libmcph-http.so" }
    static var manifest: String { Paths.pluginsDir + "/30-http.plugin" }
    static var backendScript: String { Paths.pythonDir + "/http_backend.py" }

    static func check() throws {
        guard FileManager.default.isExecutableFile(atPath: Paths.sdkPython) else {
            throw TestFailure("no Python with the MCP SDK at \(Paths.sdkPython): run scripts/test (it creates .venv) or set MCP_HOST_TEST_PYTHON")
        }
        guard FileManager.default.fileExists(atPath: plugin) else {
            throw TestFailure("the HTTP transport plugin is not built (\(plugin) is missing): run swift build")
        }
        guard FileManager.default.fileExists(atPath: manifest) else {
            throw TestFailure("no manifest for the HTTP transport plugin at \(manifest)")
        }
    }
}

/// `Tests/IntegrationTests/python/http_backend.py`: an MCP server made with the official Python
/// SDK, serving HTTP on 127.0.0.1 (port 0 = a free one, read back from its ready file). Killed
/// (SIGKILL) by `stop()` or when released, so a failing test leaves nothing behind.
final class PythonServer: ScriptServer, @unchecked Sendable { // immutable past init; see ScriptServer
    /// Starts the server with `options` (e.g. ["--transport", "sse"]) and waits until it accepts connections.
    init(_ options: [String] = [], port: Int = 0, timeout: Double = 60) throws {
        try HTTPTransportPrerequisites.check()
        try super.init(name: "http_backend.py", executable: Paths.sdkPython, arguments: ["-u", HTTPTransportPrerequisites.backendScript],
                       port: port, options: options, timeout: timeout,
                       readyWhen: { $0.hasPrefix("http_backend ") && $0.contains(" listening on ") })
    }

    /// The per-process marker its `who` tool answers (pid and start time).
    var marker: String { String(readyLine.split(separator: " ")[1]) }

    /// The Streamable HTTP endpoint.
    var url: String { "http://127.0.0.1:\(port)/mcp" }
    /// The legacy HTTP+SSE endpoint (with `--transport sse`).
    var sseURL: String { "http://127.0.0.1:\(port)/sse" }

    /// How many calls of `tool` have started on this server.
    func calls(_ tool: String) -> Int {
        stderr.split(separator: "\n").filter { $0 == "http_backend call \(tool)" }.count
    }
}

/// A lock that several owners (an object and its reader thread) can hold (`Locked`: a pthread mutex, which ThreadSanitizer sees; `Synchronization.Mutex` it does not).
final class Shared<Value: Sendable>: Sendable {
    let value: Locked<Value>
    init(_ initial: Value) { value = Locked(initial) }
}

/// One raw HTTP/1.1 request on a loopback socket whose answer is read as it arrives (chunked
/// transfer decoded), for SSE answers and GET streams: on Linux, URLSession only hands a body over
/// once it has ended. The socket is shut down by `close()` or when released.
final class StreamingRequest: @unchecked Sendable { // fd is immutable; received bytes sit behind a lock
    private let fd: Int32
    private let received = Shared<(bytes: [UInt8], ended: Bool)>(([], false))
    private let arrived = DispatchSemaphore(value: 0)

    init(port: Int, method: String, path: String, headers: [String: String] = [:], body: String? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard connectLoopback(fd, port: port) == 0 else {
            close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port) failed: \(errno)")
        }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let payload = Array((body ?? "").utf8)
        if body != nil { head += "Content-Length: \(payload.count)\r\n" }
        let request = Array((head + "\r\n").utf8) + payload
        var offset = 0
        while offset < request.count {
            let n = request[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            offset += n
        }
        let (state, socketFD, signal) = (received, fd, arrived)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(socketFD, &buffer, buffer.count)
                if n <= 0 { break }
                state.value.withLock { $0.bytes += buffer[0..<n] }
                signal.signal()
            }
            state.value.withLock { $0.ended = true }
            signal.signal()
            close(socketFD) // the reader owns the descriptor's end: no reuse while it still reads
        }
    }

    /// Ends the request from this side (the reader thread then closes the socket).
    func cancel() { shutdown(fd, Int32(SHUT_RDWR)) }

    deinit { cancel() }

    /// Whether the server has closed the connection.
    var ended: Bool { received.value.withLock { $0.ended } }

    /// The status code, once the status line arrived.
    var status: Int? {
        let text = String(decoding: received.value.withLock { $0.bytes }.prefix(64), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 "), text.count >= 12 else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    /// The body received so far (chunked transfer decoded; a chunk not yet complete is left out).
    var body: String {
        let bytes = received.value.withLock { $0.bytes }
        guard let end = bytes.indices.dropLast(3).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }) else { return "" }
        let head = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
        var rest = Array(bytes[(end + 4)...])
        guard head.contains("transfer-encoding: chunked") else { return String(decoding: rest, as: UTF8.self) }
        var decoded: [UInt8] = []
        while let lineEnd = rest.indices.dropLast().first(where: { rest[$0] == 13 && rest[$0 + 1] == 10 }),
              let size = Int(String(decoding: rest[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16),
              size > 0, rest.count >= lineEnd + 2 + size {
            decoded += rest[(lineEnd + 2)..<(lineEnd + 2 + size)]
            rest = Array(rest[min(rest.count, lineEnd + 4 + size)...])
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    /// The JSON-RPC messages of the complete SSE events received so far (or the JSON body, once ended).
    var messages: [[String: Any]] { sseMessages(body, ended: ended) }

    /// Waits for a message satisfying `match`; fails on timeout, with what arrived.
    @discardableResult
    func waitForMessage(timeout: Double = 30, _ what: String, where match: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let found = messages.first(where: match) { return found }
            if ended, let found = messages.first(where: match) { return found }
            if ended { throw TestFailure("the stream ended without \(what); it carried: \(body.prefix(3000))") }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { throw TestFailure("timed out waiting for \(what); so far: \(body.prefix(3000))") }
            _ = arrived.wait(timeout: .now() + min(left, 0.2))
        }
    }
}

/// The JSON-RPC messages in an HTTP answer body: one JSON value (object or array), or the `data:`
/// of each complete SSE event (an event is complete once a blank line follows it, or at the end).
func sseMessages(_ body: String, ended: Bool = true) -> [[String: Any]] {
    let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
        guard ended, let value = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) else { return [] }
        return (value as? [[String: Any]]) ?? [value as? [String: Any]].compactMap { $0 }
    }
    let normalized = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    var events = normalized.components(separatedBy: "\n\n")
    if !ended { events.removeLast() } // the last event may still be incomplete
    return events.compactMap { event in
        let data = event.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { $0.hasPrefix("data:") }
            .map { line -> Substring in let value = line.dropFirst(5); return value.hasPrefix(" ") ? value.dropFirst() : value }
            .joined(separator: "\n")
        guard !data.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]
    }
}
