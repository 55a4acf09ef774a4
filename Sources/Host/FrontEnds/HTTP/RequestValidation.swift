// Pure: this file imports nothing but the Swift standard library. Besides itself it uses only
// `Sources/Host/Protocol/*.swift` (Envelope, JSONRPC), which are pure too, so a libFuzzer target
// can compile them together with `swiftc -sanitize=fuzzer` (no NIO, Hummingbird or Foundation).

/// What the HTTP front-end's checks need from its settings.
struct HTTPValidationPolicy: Sendable {
    /// Origins allowed besides the loopback ones (exact `scheme://host[:port]`).
    var allowedOrigins: Set<String> = []
    /// Accepted bearer tokens; when non-empty every request needs one.
    var bearerTokens: [[UInt8]] = []
    /// Largest accepted request body.
    var maxBodyBytes = 4 << 20
    /// `MCP-Protocol-Version` values accepted (ProtocolVersions.supported).
    var supportedVersions: [String] = []

    init(allowedOrigins: Set<String> = [], bearerTokens: [String] = [], maxBodyBytes: Int = 4 << 20, supportedVersions: [String] = []) {
        self.allowedOrigins = allowedOrigins
        self.bearerTokens = bearerTokens.map { Array($0.utf8) }
        self.maxBodyBytes = maxBodyBytes
        self.supportedVersions = supportedVersions
    }
}

/// A request refused before it reaches a session or the core.
struct HTTPRejection: Sendable, Equatable {
    /// The HTTP status (400, 401, 403, 404, 405, 406, 413, 415).
    var status: Int
    /// What was wrong and what to do.
    var message: String
    /// For `POST /mcp`: answer with a JSON-RPC error of this code (and the request's id when it
    /// was readable) instead of plain text.
    var jsonRPCCode: Int?
    var jsonRPCID: [UInt8]?
    /// The `Allow` header of a 405.
    var allow: String?
    /// Whether a 401 carries `WWW-Authenticate: Bearer`.
    var challenge = false
}

/// Where an accepted request goes.
enum HTTPRoute: Sendable {
    /// `POST /mcp`. `session` is nil only for `initialize`; the message parsed as JSON-RPC.
    case streamablePost(envelope: Envelope, session: String?, protocolVersion: String?, acceptsJSON: Bool, acceptsSSE: Bool)
    case streamableGet(session: String)
    case streamableDelete(session: String)
    case legacyOpen
    /// `POST /messages?session_id=…`; the body goes to the core as is (errors are answered there).
    case legacyPost(session: String)
    case health
    case metrics
}

/// The outcome of `RequestValidation.validate`.
enum HTTPVerdict: Sendable {
    case accept(HTTPRoute)
    case reject(HTTPRejection)
}

/// The HTTP request checks: everything decided before a request reaches a session or the core.
///
/// `validate` is the one entry point (the fuzz target's); the front-end calls its two halves,
/// `validateHead` before it reads the body (so a refused request's body is never read) and
/// `validateBody` after. Header names compare case-insensitively; a header that must be single
/// (`Origin`, `Authorization`, `Content-Type`, `Mcp-Session-Id`, `MCP-Protocol-Version`) given
/// more than once is refused. Nothing here traps on any input.
enum RequestValidation {
    /// What `validateHead` decided: refused, routed, or routed once the body is read and checked.
    enum Head: Sendable {
        case reject(HTTPRejection)
        case route(HTTPRoute)
        case needsBody(PendingBody)
    }

    /// A POST whose body is still to be read.
    enum PendingBody: Sendable {
        case streamable(session: String?, protocolVersion: String?, acceptsJSON: Bool, acceptsSSE: Bool)
        case legacy(session: String)
    }

    /// Longest accepted `Mcp-Session-Id` / `session_id` (issued ids are 32 hex digits plus an
    /// optional replica prefix).
    static let maxSessionIDLength = 256
    /// Longest accepted `MCP-Protocol-Version`.
    static let maxVersionLength = 64

    static func validate(method: String, target: String, headers: [(String, String)], body: [UInt8],
                         policy: HTTPValidationPolicy) -> HTTPVerdict {
        switch validateHead(method: method, target: target, headers: headers, policy: policy) {
        case .reject(let rejection): return .reject(rejection)
        case .route(let route): return .accept(route)
        case .needsBody(let pending): return validateBody(pending, body: body, policy: policy)
        }
    }

    // MARK: - Head

    static func validateHead(method: String, target: String, headers: [(String, String)], policy: HTTPValidationPolicy) -> Head {
        let fields = Fields(headers)
        switch fields.single("origin") {
        case .absent: break
        case .one(let origin):
            if !originAllowed(origin, allowed: policy.allowedOrigins) {
                return .reject(.init(status: 403, message: "Forbidden: Origin '\(printable(origin))' is not allowed (allow it with --allow-origin)"))
            }
        case .several:
            return .reject(.init(status: 403, message: "Forbidden: more than one Origin header"))
        }
        if !policy.bearerTokens.isEmpty {
            guard case .one(let header) = fields.single("authorization"), bearerAuthorized(header, tokens: policy.bearerTokens) else {
                return .reject(.init(status: 401, message: "Unauthorized: a valid bearer token is required (Authorization: Bearer <token>)", challenge: true))
            }
        }
        let (path, query) = split(target: target)
        switch (path, method) {
        case ("/mcp", "POST"):
            if case .one(let type) = fields.single("content-type"), !type.lowercased().hasPrefix("application/json") {
                return .reject(.init(status: 415, message: "Unsupported Media Type: POST a JSON-RPC message as application/json"))
            }
            if case .several = fields.single("content-type") {
                return .reject(.init(status: 415, message: "Unsupported Media Type: more than one Content-Type header"))
            }
            let session: String?
            switch sessionHeader(fields) {
            case .failure(let error): return .reject(error.rejection)
            case .success(let value): session = value
            }
            let version: String?
            switch fields.single("mcp-protocol-version") {
            case .absent: version = nil
            case .one(let value): version = value
            case .several: return .reject(.init(status: 400, message: "Bad Request: more than one MCP-Protocol-Version header"))
            }
            let accept = fields.all("accept")
            let acceptsSSE = accept.contains { contains($0, caseInsensitive: "text/event-stream") }
            let acceptsJSON = accept.allSatisfy(\.isEmpty)
                || accept.contains { contains($0, caseInsensitive: "application/json") || contains($0, caseInsensitive: "*/*") }
            return .needsBody(.streamable(session: session, protocolVersion: version, acceptsJSON: acceptsJSON, acceptsSSE: acceptsSSE))
        case ("/mcp", "GET"):
            guard fields.all("accept").contains(where: { contains($0, caseInsensitive: "text/event-stream") }) else {
                return .reject(.init(status: 406, message: "Not Acceptable: GET /mcp opens an event stream; send Accept: text/event-stream"))
            }
            switch sessionHeader(fields) {
            case .failure(let error): return .reject(error.rejection)
            case .success(nil): return .reject(.init(status: 400, message: "Bad Request: Mcp-Session-Id header is required"))
            case .success(let session?): return .route(.streamableGet(session: session))
            }
        case ("/mcp", "DELETE"):
            switch sessionHeader(fields) {
            case .failure(let error): return .reject(error.rejection)
            case .success(nil): return .reject(.init(status: 400, message: "Bad Request: Mcp-Session-Id header is required"))
            case .success(let session?): return .route(.streamableDelete(session: session))
            }
        case ("/mcp", _): return .reject(notAllowed("GET, POST, DELETE"))
        case ("/sse", "GET"): return .route(.legacyOpen)
        case ("/sse", _): return .reject(notAllowed("GET"))
        case ("/messages", "POST"), ("/messages/", "POST"):
            guard let session = queryValue(query, "session_id") ?? queryValue(query, "sessionId") else {
                return .reject(.init(status: 400, message: "Bad Request: session_id query parameter is required (the endpoint event of GET /sse gives it)"))
            }
            guard validSessionID(session) else {
                return .reject(.init(status: 400, message: "Bad Request: malformed session_id (at most \(maxSessionIDLength) visible ASCII characters)"))
            }
            return .needsBody(.legacy(session: session))
        case ("/messages", _), ("/messages/", _): return .reject(notAllowed("POST"))
        case ("/health", "GET"): return .route(.health)
        case ("/metrics", "GET"): return .route(.metrics)
        case ("/health", _), ("/metrics", _): return .reject(notAllowed("GET"))
        default:
            return .reject(.init(status: 404, message: "Not Found: MCP is served at /mcp (Streamable HTTP) and /sse (HTTP+SSE)"))
        }
    }

    /// Whether `needle` (lowercase ASCII) occurs in `text`, ASCII case ignored: bytewise, with no
    /// allocation (this runs for every POST).
    static func contains(_ text: String, caseInsensitive needle: StaticString) -> Bool {
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard !pattern.isEmpty else { return true }
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count >= pattern.count else { return false }
            for start in 0...(bytes.count - pattern.count) {
                var matched = true
                for k in 0..<pattern.count {
                    var byte = bytes[start + k]
                    if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
                    if byte != pattern[k] { matched = false; break }
                }
                if matched { return true }
            }
            return false
        }
    }

    // MARK: - Body

    static func validateBody(_ pending: PendingBody, body: [UInt8], policy: HTTPValidationPolicy) -> HTTPVerdict {
        guard body.count <= policy.maxBodyBytes else {
            return .reject(.init(status: 413, message: "Content Too Large: the body exceeds \(policy.maxBodyBytes) bytes (--max-body-bytes)"))
        }
        switch pending {
        case .legacy(let session):
            return .accept(.legacyPost(session: session))
        case .streamable(let session, let version, let acceptsJSON, let acceptsSSE):
            let envelope: Envelope
            do {
                envelope = try Envelope.parse(body)
            } catch {
                return .reject(.init(status: 400, message: error.message, jsonRPCCode: error.code, jsonRPCID: error.id))
            }
            let isInitialize = envelope.kind == .request && envelope.method == "initialize"
            if !isInitialize {
                guard session != nil else {
                    return .reject(.init(status: 400, message: "Bad Request: Mcp-Session-Id header is required after initialize",
                                         jsonRPCCode: JSONRPCErrorCode.invalidRequest, jsonRPCID: envelope.idBytes))
                }
                if let version, !policy.supportedVersions.contains(version) {
                    return .reject(.init(status: 400,
                                         message: "Bad Request: unsupported MCP-Protocol-Version '\(printable(version))' (supported: \(policy.supportedVersions.joined(separator: ", ")))",
                                         jsonRPCCode: JSONRPCErrorCode.invalidRequest, jsonRPCID: envelope.idBytes))
                }
            }
            return .accept(.streamablePost(envelope: envelope, session: isInitialize ? nil : session, protocolVersion: version,
                                           acceptsJSON: acceptsJSON, acceptsSSE: acceptsSSE))
        }
    }

    // MARK: - Single checks

    /// A browser's `Origin`: loopback origins and configured ones are allowed (DNS-rebinding guard).
    static func originAllowed(_ origin: String, allowed: Set<String>) -> Bool {
        if allowed.contains(origin) { return true }
        // An Origin is `scheme://host[:port]`: no user info, path, query or fragment, so
        // `http://localhost:1@evil.example` (host evil.example) is not taken for localhost.
        guard let schemeEnd = origin.firstRange(of: "://") else { return false }
        var rest = origin[schemeEnd.upperBound...]
        let host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return false }
            host = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
        } else {
            let end = rest.firstIndex(of: ":") ?? rest.endIndex
            host = rest[..<end]
            rest = rest[end...]
        }
        if !rest.isEmpty {
            let port = rest.dropFirst()
            guard rest.first == ":", (1...5).contains(port.utf8.count), port.utf8.allSatisfy({ (48...57).contains($0) }) else { return false }
        }
        return isLoopback(String(host))
    }

    /// `localhost`, `::1`, or an IPv4 literal in 127.0.0.0/8 (`127.0.0.1.evil.example` is not).
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.utf8.allSatisfy { (48...57).contains($0) } && UInt8($0) != nil }
    }

    /// Whether an `Authorization` header carries one of `tokens` (constant-time compare).
    static func bearerAuthorized(_ header: String, tokens: [[UInt8]]) -> Bool {
        bearerIndex(header, tokens: tokens) != nil
    }

    /// Which of `tokens` an `Authorization` header carries (the first, if listed twice): every
    /// token is compared, each in constant time, so the time taken says nothing about which.
    static func bearerIndex(_ header: String, tokens: [[UInt8]]) -> Int? {
        guard header.hasPrefix("Bearer ") else { return nil }
        let presented = Array(header.utf8.dropFirst(7))
        var match: Int?
        for (index, token) in tokens.enumerated() where constantTimeEqual(token, presented) { match = match ?? index }
        return match
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    /// A session id as the spec allows it: visible ASCII (0x21...0x7E), 1 to 256 characters.
    static func validSessionID(_ id: String) -> Bool {
        let bytes = id.utf8
        return !bytes.isEmpty && bytes.count <= maxSessionIDLength && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }

    // MARK: - Helpers

    private enum Single {
        case absent
        case one(String)
        case several
    }

    /// Header lookup by lowercased name.
    private struct Fields {
        let pairs: [(name: String, value: String)]
        init(_ headers: [(String, String)]) { pairs = headers.map { ($0.0.lowercased(), $0.1) } }
        func all(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }
        func single(_ name: String) -> Single {
            let values = all(name)
            switch values.count {
            case 0: return .absent
            case 1: return .one(values[0])
            default: return .several
            }
        }
    }

    private static func sessionHeader(_ fields: Fields) -> Result<String?, RejectionError> {
        switch fields.single("mcp-session-id") {
        case .absent: return .success(nil)
        case .several: return .failure(.init(status: 400, message: "Bad Request: more than one Mcp-Session-Id header"))
        case .one(let id):
            guard validSessionID(id) else {
                return .failure(.init(status: 400, message: "Bad Request: malformed Mcp-Session-Id (at most \(maxSessionIDLength) visible ASCII characters): initialize again"))
            }
            return .success(id)
        }
    }

    private static func notAllowed(_ allow: String) -> HTTPRejection {
        .init(status: 405, message: "Method Not Allowed (allowed: \(allow))", allow: allow)
    }

    /// Path and query of a request target (`/messages?session_id=x`).
    static func split(target: String) -> (path: String, query: Substring) {
        guard let mark = target.firstIndex(of: "?") else { return (target, "") }
        return (String(target[..<mark]), target[target.index(after: mark)...])
    }

    /// The percent-decoded value of the first `name=value` pair of a query; nil when absent or
    /// not decodable.
    static func queryValue(_ query: Substring, _ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, percentDecode(parts[0]) == name else { continue }
            return percentDecode(parts[1])
        }
        return nil
    }

    static func percentDecode(_ text: Substring) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { out.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            out.append(high << 4 | low)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// A header value for a message: at most 200 characters, control characters shown as `?`.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(200).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}

/// An `HTTPRejection` as an `Error`, for `Result`.
struct RejectionError: Error {
    let rejection: HTTPRejection
    init(status: Int, message: String) { rejection = .init(status: status, message: message) }
}
