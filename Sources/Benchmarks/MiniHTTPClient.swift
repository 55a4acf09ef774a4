import BenchSupport
import Foundation

/// A minimal blocking HTTP/1.1 client for the few control requests of the memory run (opening
/// idle sessions, one call per backend): one connection per request with `Connection: close`,
/// the answer read to EOF. Not for load: that is mcp-bench-load's job.
enum MiniHTTPClient {
    struct Reply {
        var status: Int
        var headers: [String: String] // names lowercased
        var body: String
    }

    /// Answers are read up to 1 MiB; a longer one is an error (none of the control answers comes near it).
    static let replyBound = 1 << 20

    static func post(url: String, body: String, headers: [(String, String)] = []) throws -> Reply {
        try request("POST", url: url, body: body, headers: headers)
    }

    static func get(url: String) throws -> Reply {
        try request("GET", url: url, body: nil, headers: [])
    }

    static func request(_ method: String, url: String, body: String?, headers: [(String, String)]) throws -> Reply {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port, (1...65535).contains(port) else {
            throw BenchError("cannot use the URL \(url) (expected http://HOST:PORT/PATH)")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw BenchError("\(host) is not an IPv4 address") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw BenchError("cannot connect to \(url): \(String(cString: strerror(errno)))") }

        var request = "\(method) \(parsed.path.isEmpty ? "/" : parsed.path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        request += "Accept: application/json, text/event-stream\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if let body {
            request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            request += "\r\n"
        }
        var bytes = Array(request.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { throw BenchError("cannot send to \(url): \(String(cString: strerror(errno)))") }
            offset += sent
        }
        bytes.removeAll(keepingCapacity: true)
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            bytes.append(contentsOf: chunk[0..<got])
            if bytes.count > replyBound { throw BenchError("the answer from \(url) is longer than \(replyBound) bytes") }
        }
        return try parse(String(decoding: bytes, as: UTF8.self), url: url)
    }

    static func parse(_ text: String, url: String) throws -> Reply {
        guard let split = text.range(of: "\r\n\r\n") else { throw BenchError("no complete HTTP answer from \(url): \(text.prefix(200).debugDescription)") }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw BenchError("bad status line from \(url): \(head.first ?? "")") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}

/// MCP sessions over Streamable HTTP with the minimal client.
enum MCPSessions {
    static let protocolVersion = "2025-06-18"

    /// initialize + notifications/initialized: a session that then stays idle. Returns its id.
    static func open(url: String) throws -> String {
        let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"\#(protocolVersion)","capabilities":{},"clientInfo":{"name":"mcp-host-bench","version":"1"}}}"#
        let reply = try MiniHTTPClient.post(url: url, body: initialize)
        guard reply.status == 200, let session = reply.headers["mcp-session-id"] else {
            throw BenchError("initialize was answered \(reply.status) without a session: \(reply.body.prefix(300))")
        }
        let initialized = try MiniHTTPClient.post(url: url, body: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                                                  headers: headers(session))
        guard (200..<300).contains(initialized.status) else {
            throw BenchError("notifications/initialized was answered \(initialized.status): \(initialized.body.prefix(300))")
        }
        return session
    }

    /// One tools/call in a session; throws unless it is answered with a result.
    static func call(url: String, session: String, tool: String, id: Int) throws {
        let body = #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":{"text":"hello, benchmark"}}}"#
        let reply = try MiniHTTPClient.post(url: url, body: body, headers: headers(session))
        guard reply.status == 200, reply.body.contains("\"result\""), !reply.body.contains("\"error\"") else {
            throw BenchError("tools/call \(tool) was answered \(reply.status): \(reply.body.prefix(300))")
        }
    }

    /// `active_clients` from the host's `/health` (sessions it holds); nil if unreadable.
    static func activeClients(url: String) -> Int? {
        let base = url.hasSuffix("/mcp") ? String(url.dropLast(4)) : url
        guard let reply = try? MiniHTTPClient.get(url: base + "/health"), reply.status == 200,
              let object = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any] else { return nil }
        return object["active_clients"] as? Int
    }

    static func headers(_ session: String) -> [(String, String)] {
        [("Mcp-Session-Id", session), ("MCP-Protocol-Version", protocolVersion)]
    }
}
