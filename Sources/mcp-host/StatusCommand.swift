import ArgumentParser
import Foundation
import Host
#if canImport(Glibc)
import Glibc
#endif

/// `mcp-host status`: what a running HTTP host says about itself (its `/health`), as a table.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running HTTP host's backends: state, pid, uptime, requests, idle timeout, last error (reads its /health).")

    @Option(name: .customLong("url"), help: ArgumentHelp("The host's base URL.", valueName: "url"))
    var url = "http://\(ServeCommand.defaultHTTPAddress)"

    @Option(name: .customLong("auth-token-file"), help: ArgumentHelp(
        "File whose first line is the bearer token to send; also $MCP_HOST_AUTH_TOKEN (the host's own sources).", valueName: "file"))
    var authTokenFile: String?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("How long to wait for the host, e.g. 2s. Default: 5s.", valueName: "duration"))
    var timeout: String?

    @Flag(name: .customLong("json"), help: "Print the /health document as it came.")
    var json = false

    func run() throws {
        let seconds = try timeout.map { text -> Double in
            do {
                return try SettingCheck.duration(text, setting: "--timeout", range: SettingCheck.DurationRange(0.001, 3600))
            } catch {
                throw ValidationError("\(error)")
            }
        } ?? 5
        guard let target = HealthRequest.Target(url: url) else {
            throw ValidationError("--url: cannot read '\(url)'; expected http://HOST:PORT, e.g. http://\(ServeCommand.defaultHTTPAddress)")
        }
        var token = ProcessInfo.processInfo.environment["MCP_HOST_AUTH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let file = authTokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("--auth-token-file: cannot read \(file)") }
            // The first token line (a line may go on with subject=NAME roles=a,b: only its first word is the token).
            token = text.split(whereSeparator: \.isNewline).compactMap { $0.split(whereSeparator: \.isWhitespace).first.map(String.init) }
                .first { !$0.hasPrefix("#") } ?? token
        }
        let body: [UInt8]
        do {
            body = try HealthRequest.get(target, path: "/health", token: token, timeout: seconds)
        } catch {
            FileHandle.standardError.write(Data("mcp-host status: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            FileHandle.standardOutput.write(Data(body + [0x0A]))
            return
        }
        guard let document = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            FileHandle.standardError.write(Data("mcp-host status: \(url)/health did not answer with a JSON object\n".utf8))
            throw ExitCode(1)
        }
        print(StatusTable.render(document, url: url))
    }
}

/// The table `mcp-host status` prints.
enum StatusTable {
    static func render(_ document: [String: Any], url: String) -> String {
        func int(_ key: String, _ object: [String: Any] = document) -> Int { (object[key] as? NSNumber)?.intValue ?? 0 }
        func duration(_ value: Any?) -> String {
            // Any number may come (the body is another process's): never convert one too large for Int.
            guard let seconds = (value as? NSNumber)?.doubleValue, seconds.isFinite, seconds >= 0, seconds < 1e15 else { return "-" }
            if seconds < 120 { return "\(Int(seconds))s" }
            if seconds < 7200 { return "\(Int(seconds / 60))m" }
            return "\(Int(seconds / 3600))h"
        }
        var lines = ["mcp-host \(text(document["version"] as? String ?? "?")) at \(text(url)): \(int("backends_configured")) backends "
            + "(\(int("backends_connected")) running), \(int("active_clients")) clients, \(int("tools")) tools, \(int("in_flight")) in flight"]
        let backends = (document["backends"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
        var rows = [["BACKEND", "STATE", "PID", "UPTIME", "SERVED", "IN FLIGHT", "IDLE TIMEOUT", "LAST ERROR"]]
        for (name, value) in backends {
            let b = value as? [String: Any] ?? [:]
            var state = b["state"] as? String ?? "?"
            if let backoff = b["backoff_seconds"] { state += " (retry in \(duration(backoff)))" }
            let idle = b["idle_timeout_seconds"].map { duration($0) } ?? "never"
            var error = b["last_error"] as? String ?? "-"
            if let ago = b["last_error_seconds_ago"] { error = "\(duration(ago)) ago: " + error }
            let pid = (b["pid"] as? NSNumber).map { "\($0.int64Value)" } ?? "-"
            rows.append([name, state, pid, duration(b["uptime_seconds"]), "\(int("requests_served", b))",
                         "\(int("in_flight", b))", "\(idle) (\(b["idle_tier"] as? String ?? "?"))", String(error.prefix(120))].map(text))
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            lines.append(cells.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    /// Text from the /health body made safe for a terminal: a backend's error can quote what the
    /// backend wrote (its stderr), so control characters (escape sequences, newlines that would
    /// break the table) are shown as `?`.
    static func text(_ raw: String) -> String {
        String(String.UnicodeScalarView(raw.unicodeScalars.map { scalar in
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.generalCategory == .format ? "?" : scalar
        }))
    }
}

/// A plain HTTP/1.1 GET over a blocking socket with a deadline: enough for a host's `/health`
/// (which is served over plain HTTP), without a networking stack in the command.
enum HealthRequest {
    struct Target {
        let host: String
        let port: UInt16

        init?(url: String) {
            guard url.hasPrefix("http://") else { return nil }
            var rest = url.dropFirst("http://".count)
            if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
            let host: Substring, port: Substring
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                host = rest[rest.index(after: rest.startIndex)..<close]
                let after = rest[rest.index(after: close)...]
                port = after.hasPrefix(":") ? after.dropFirst() : "80"
            } else if let colon = rest.lastIndex(of: ":") {
                host = rest[..<colon]
                port = rest[rest.index(after: colon)...]
            } else {
                host = rest
                port = "80"
            }
            guard !host.isEmpty, let number = UInt16(port) else { return nil }
            self.host = String(host)
            self.port = number
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func get(_ target: Target, path: String, token: String?, timeout: Double) throws -> [UInt8] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &list) == 0, let first = list else {
            throw Failure(description: "cannot resolve \(target.host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let wholeSeconds = min(timeout.rounded(.down), 3600)
        var limit = timeval(tv_sec: Int(wholeSeconds), tv_usec: Int((timeout - wholeSeconds) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw Failure(description: "no host answers at \(target.host):\(target.port) (\(String(cString: strerror(errno)))); is one running with --http?")
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(target.host):\(target.port)\r\nConnection: close\r\nAccept: application/json\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "sending the request failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while response.count < 16 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw Failure(description: "reading the answer failed: \(String(cString: strerror(errno)))") }
            response += chunk[0..<n]
        }
        return try body(of: response)
    }

    /// The body of an HTTP/1.1 response read to its end (Content-Length or chunked).
    static func body(of response: [UInt8]) throws -> [UInt8] {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = response.indices.first(where: { response[$0...].starts(with: separator) }) else {
            throw Failure(description: "the answer is not HTTP")
        }
        let head = String(decoding: response[..<end], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ", maxSplits: 2) ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "the answer is not HTTP") }
        var raw = Array(response[(end + 4)...])
        let chunked = lines.dropFirst().contains { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }
        if chunked { raw = dechunk(raw) }
        guard status == 200 else {
            let hint = status == 401 ? " (give the token with --auth-token-file or $MCP_HOST_AUTH_TOKEN)" : ""
            throw Failure(description: "/health answered HTTP \(status)\(hint)")
        }
        return raw
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = bytes[index...].indices.first(where: { bytes[$0] == 10 }) else { break }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self)
                .split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            guard let size = Int(sizeText, radix: 16), size > 0, size <= bytes.count - lineEnd - 1 else { break }
            out += bytes[(lineEnd + 1)..<(lineEnd + 1 + size)]
            index = lineEnd + 1 + size + 2
        }
        return out
    }
}
