import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An MCP client of any loopback HTTP port (HAProxy's, where `HTTPHost` only speaks to the host it
/// started): the same requests as `HTTPHost.send`/`post`/`initialize`.
struct HTTPEndpoint: Sendable {
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: String? = nil) async throws -> HTTPHost.Reply {
        guard let url = URL(string: base + path) else { throw TestFailure("not a URL: \(base + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if let body { request.httpBody = Data(body.utf8) }
        request.timeoutInterval = 30
        let data: Data, response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw TestFailure("\(method) \(path) (session \(headers["Mcp-Session-Id"] ?? "none")) through port \(port): \(error)")
        }
        guard let http = response as? HTTPURLResponse else { throw TestFailure("\(method) \(path): not an HTTP response") }
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields["\(k)"] = "\(v)" }
        return HTTPHost.Reply(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
    }

    /// POSTs a JSON-RPC message to /mcp within a session.
    func post(_ message: String, session: String?) async throws -> HTTPHost.Reply {
        var headers = HTTPHost.mcpHeaders
        if let session { headers["Mcp-Session-Id"] = session }
        return try await send("POST", "/mcp", headers: headers, body: message)
    }

    /// Initializes a Streamable HTTP session and returns its id.
    func initialize() async throws -> String {
        let reply = try await post(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"haproxy-test","version":"1"}}}"#, session: nil)
        guard reply.status == 200, let id = reply.header("Mcp-Session-Id") else {
            throw TestFailure("initialize through port \(port) failed: \(reply.status) \(reply.body)")
        }
        let initialized = try await post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, session: id)
        guard initialized.status == 202 else { throw TestFailure("notifications/initialized: \(initialized.status) \(initialized.body)") }
        return id
    }
}

/// A legacy HTTP+SSE stream (`GET /sse`) read over a raw socket, so its events can be taken one by
/// one while it stays open. The body is de-chunked (HAProxy re-chunks what it forwards). Reads
/// block, so each runs on a thread of its own, never on the shared concurrency pool.
final class LegacyStream: @unchecked Sendable { // its state is only touched by one read at a time (the test awaits each)
    private let fd: Int32
    private var raw: [UInt8] = []
    private var headersDone = false
    private var chunked = false
    /// Decoded body not yet returned by `event(containing:)`. Bounded: past 1 MB (a test's stream
    /// carries a few small events) the stream counts as ended and the waiting read fails.
    private var body = ""
    private(set) var ended = false

    init(port: Int, path: String = "/sse") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        guard connectLoopback(fd, port: port) == 0 else { close(fd); throw TestFailure("connect to port \(port): \(errno)") }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        let written = request.withCString { write(fd, $0, strlen($0)) }
        guard written == request.utf8.count else { close(fd); throw TestFailure("write to port \(port): \(errno)") }
    }

    /// The body up to and including the first complete SSE event (ending in a blank line) that
    /// contains `marker`; what came before it is returned too, what comes after is kept.
    func event(containing marker: String, timeout: Double = 20) async throws -> String {
        try await Self.onThread { [self] in
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                var searchStart = body.startIndex
                while let end = body.range(of: "\n\n", range: searchStart..<body.endIndex) {
                    let eventStart = body[..<end.lowerBound].range(of: "\n\n", options: .backwards)?.upperBound ?? body.startIndex
                    if body[eventStart..<end.lowerBound].contains(marker) {
                        let taken = String(body[..<end.upperBound])
                        body = String(body[end.upperBound...])
                        return taken
                    }
                    searchStart = end.upperBound
                }
                if ended { throw TestFailure("the SSE stream ended before an event with \(marker); body: \(body.suffix(2000))") }
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { throw TestFailure("no SSE event with \(marker) within \(timeout) s; body so far: \(body.suffix(2000))") }
                pump(waitMilliseconds: Int32(min(left, 0.2) * 1000))
            }
        }
    }

    /// Waits until the server side closes the stream; true if it did within `timeout`.
    func waitForEnd(timeout: Double = 20) async -> Bool {
        (try? await Self.onThread { [self] in
            let deadline = Date().addingTimeInterval(timeout)
            while !ended && Date() < deadline { pump(waitMilliseconds: 100) }
            return ended
        }) ?? false
    }

    /// Reads what is there (waiting up to `waitMilliseconds`) and decodes it into `body`.
    private func pump(waitMilliseconds: Int32) {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, waitMilliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { ended = true; return }
        raw += buffer[0..<n]
        decode()
        if body.utf8.count > 1_000_000 || raw.count > 1_000_000 { ended = true }
    }

    private func decode() {
        if !headersDone {
            guard let end = find([13, 10, 13, 10], in: raw) else { return }
            let head = String(decoding: raw[0..<end], as: UTF8.self).lowercased()
            chunked = head.contains("transfer-encoding: chunked")
            headersDone = true
            raw.removeFirst(end + 4)
        }
        guard chunked else {
            body += String(decoding: raw, as: UTF8.self)
            raw.removeAll()
            return
        }
        // size CRLF data CRLF, repeated; a 0-size chunk ends the body.
        while let lineEnd = find([13, 10], in: raw) {
            let sizeText = String(decoding: raw[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else { ended = true; return }
            if size == 0 { ended = true; return }
            guard raw.count >= lineEnd + 2 + size + 2 else { return }
            body += String(decoding: raw[(lineEnd + 2)..<(lineEnd + 2 + size)], as: UTF8.self)
            raw.removeFirst(lineEnd + 2 + size + 2)
        }
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle {
            return start
        }
        return nil
    }

    private static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    deinit { close(fd) }
}
