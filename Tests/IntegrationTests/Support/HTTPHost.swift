import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The real mcp-host binary serving HTTP on an ephemeral loopback port.
final class HTTPHost: @unchecked Sendable {
    let host: HostProcess
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    init(config: String, extra: [String] = [], environment: [String: String] = [:], logLevel: String = "debug") throws {
        host = try HostProcess(arguments: ["--plugins", Paths.pluginsDir, "--config", config, "--log-level", logLevel,
                                           "--http", "127.0.0.1:0"] + extra, environment: environment)
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        while found == nil && Date() < deadline {
            if let range = host.stderr.range(of: #"127\.0\.0\.1:(\d+)/mcp"#, options: .regularExpression) {
                found = Int(host.stderr[range].dropFirst("127.0.0.1:".count).dropLast("/mcp".count))
            } else if !host.process.isRunning {
                break
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        guard let found else { throw TestFailure("mcp-host did not start serving HTTP:\n\(host.stderr.suffix(3000))") }
        port = found
    }

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: String
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    }

    /// One raw HTTP request.
    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: String? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if let body { request.httpBody = Data(body.utf8) }
        request.timeoutInterval = 30
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields["\(k)"] = "\(v)" }
        return Reply(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
    }

    static let mcpHeaders = ["Content-Type": "application/json", "Accept": "application/json, text/event-stream"]

    /// POSTs a JSON-RPC message to /mcp within a session.
    func post(_ message: String, session: String?, extra: [String: String] = [:]) async throws -> Reply {
        var headers = Self.mcpHeaders
        if let session { headers["Mcp-Session-Id"] = session }
        for (k, v) in extra { headers[k] = v }
        return try await send("POST", "/mcp", headers: headers, body: message)
    }

    /// Initializes a Streamable HTTP session and returns its id.
    func initialize() async throws -> String {
        let reply = try await post(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"swift-test","version":"1"}}}"#, session: nil)
        guard reply.status == 200, let id = reply.header("Mcp-Session-Id") else {
            throw TestFailure("initialize failed: \(reply.status) \(reply.body)")
        }
        _ = try await post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, session: id)
        return id
    }
}

/// A TCP connection that sends a request and then never reads: a wedged client.
final class StalledClient {
    let fd: Int32

    init(port: Int, request: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        // A small receive buffer makes the wedge show after little data.
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        guard connectLoopback(fd, port: port) == 0 else { throw TestFailure("connect failed: \(errno)") }
        _ = request.withCString { write(fd, $0, strlen($0)) }
    }

    /// Reads what has arrived so far (non-blocking), e.g. to learn the legacy endpoint.
    func peek(timeout: Double = 5, until marker: String) -> String {
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 512)
        while !text.contains(marker) && Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                let n = read(fd, &buffer, 1) // one byte at a time: take no more than needed
                if n <= 0 { break }
                text += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        return text
    }

    deinit { close(fd) }
}
