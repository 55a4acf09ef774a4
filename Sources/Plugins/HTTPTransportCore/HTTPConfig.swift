/// The HTTP transport's part of a server's configuration (the host has substituted `${VAR}`s and
/// added "name" and "shutdownGraceMs"), every value checked. Unknown keys belong to the host and
/// are ignored.
///
///     {"name": "remote", "url": "https://example.com/mcp", "type": "http",
///      "headers": {"Authorization": "Bearer …"}, "connect_timeout": "10s", "max_connections": 64}
///
/// Error messages name the key and the accepted form; they never repeat a header value, the URL's
/// userinfo or query, or any other value that may hold a substituted secret.
public struct HTTPConfig: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Streamable HTTP, falling back to legacy HTTP+SSE when the server refuses the initialize POST.
        case streamable
        /// Legacy HTTP+SSE (protocol 2024-11-05): `"type": "sse"`.
        case legacy
    }

    public var name: String
    public var url: RemoteURL
    public var mode: Mode
    /// Sent on every request, in this order (sorted by name for a stable order).
    public var headers: [(name: String, value: String)]
    public var connectTimeoutSeconds: Double
    public var maxConnections: Int
    public var shutdownGraceMs: Int?
    /// Values the host substituted for `${VAR}`s anywhere in this entry ("substituted_values", which
    /// mcp-host adds): secrets, wherever they appear (even in the URL's path).
    public var substituted: [String] = []

    public static let defaultConnectTimeout = 10.0
    public static let connectTimeoutRange = 0.001...3600.0
    public static let defaultMaxConnections = 64
    public static let maxConnectionsRange = 1...1024
    /// Headers the transport sets itself; configuring them is refused.
    public static let reservedHeaders: Set<String> = ["content-type", "accept", "content-length", "transfer-encoding",
                                                      "host", "connection", "mcp-session-id", "mcp-protocol-version",
                                                      "last-event-id", "upgrade", "te", "trailer"]

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let key: String?
        public let message: String
        public var description: String { (key.map { "\"\($0)\": " } ?? "") + message }
        init(_ key: String?, _ message: String) {
            self.key = key
            self.message = message
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(Invalid) -> HTTPConfig {
        let root: JSONValue
        do { root = try JSONScanner.parse(bytes) } catch {
            throw Invalid(nil, "the configuration is not valid JSON (\(error.reason) at byte \(error.offset))")
        }
        guard case .object(let entry) = root else { throw Invalid(nil, "the configuration must be a JSON object") }

        guard let urlValue = entry["url"] else { throw Invalid("url", "is missing; give the server's URL, e.g. \"https://example.com/mcp\"") }
        guard case .string(let urlText) = urlValue else {
            throw Invalid("url", "must be a string such as \"https://example.com/mcp\", not \(urlValue.typeName)")
        }
        let url: RemoteURL
        do { url = try RemoteURL(urlText) } catch {
            switch error {
            case .notAURL: throw Invalid("url", "is not a URL; give an http:// or https:// URL such as \"https://example.com/mcp\"")
            case .unsupportedScheme: throw Invalid("url", "must start with http:// or https://")
            case .noHost: throw Invalid("url", "has no host; give an http:// or https:// URL such as \"https://example.com/mcp\"")
            case .badPort: throw Invalid("url", "has a port outside 1-65535")
            }
        }

        var mode = Mode.streamable
        let modeKey = entry["transport"] != nil ? "transport" : "type"
        if let value = entry[modeKey] {
            guard case .string(let text) = value else { throw Invalid(modeKey, "must be a string: \"http\", \"streamable-http\" or \"sse\"") }
            switch text {
            case "http", "streamable-http", "streamableHttp": mode = .streamable
            case "sse": mode = .legacy
            default: throw Invalid(modeKey, "must be \"http\", \"streamable-http\", \"streamableHttp\" or \"sse\" for a server with a \"url\"")
            }
        }

        var headers: [(name: String, value: String)] = []
        if let value = entry["headers"] {
            guard case .object(let members) = value else {
                throw Invalid("headers", "must be an object of string values, e.g. {\"Authorization\": \"Bearer ${TOKEN}\"}")
            }
            var seen: Set<String> = []
            for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
                    throw Invalid("headers", "has a header name that is not a valid HTTP field name (letters, digits and !#$%&'*+-.^_`|~ only)")
                }
                guard case .string(let text) = value else {
                    throw Invalid("headers", "\"\(name)\" must be a string, not \(value.typeName)")
                }
                guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                    throw Invalid("headers", "\"\(name)\" has a line break or NUL in its value (not allowed in HTTP headers)")
                }
                let lower = name.lowercased()
                guard !reservedHeaders.contains(lower) else {
                    throw Invalid("headers", "\"\(name)\" is set by the transport itself; remove it")
                }
                guard seen.insert(lower).inserted else {
                    throw Invalid("headers", "\"\(name)\" is given twice (header names ignore case)")
                }
                headers.append((name, text))
            }
        }

        var connectTimeout = defaultConnectTimeout
        if let value = entry["connect_timeout"] {
            guard let seconds = DurationText.seconds(json: value), connectTimeoutRange.contains(seconds) else {
                throw Invalid("connect_timeout", "must be a duration from 1ms to 1h, such as \"500ms\", \"10s\" or \"5m\" (a bare number is seconds)")
            }
            connectTimeout = seconds
        }

        var maxConnections = defaultMaxConnections
        if let value = entry["max_connections"] {
            guard case .integer(let n) = value, maxConnectionsRange.contains(n) else {
                throw Invalid("max_connections", "must be a whole number from 1 to 1024 (connections per host)")
            }
            maxConnections = n
        }

        var grace: Int?
        if case .integer(let ms)? = entry["shutdownGraceMs"] { grace = min(max(0, ms), 600_000) }

        var name = url.host
        if case .string(let given)? = entry["name"], !given.isEmpty { name = given }

        var substituted: [String] = []
        if case .array(let values)? = entry["substituted_values"] {
            for case .string(let value) in values { substituted.append(value) }
        }
        return HTTPConfig(name: name, url: url, mode: mode, headers: headers, connectTimeoutSeconds: connectTimeout,
                          maxConnections: maxConnections, shutdownGraceMs: grace, substituted: substituted)
    }

    /// Texts that must never appear in a log line or an error message: the header values (and
    /// their words, since a server may echo only the token of "Bearer <token>"), the URL's
    /// userinfo and query values. Short pieces (under 6 bytes) are left out: hiding them would
    /// garble ordinary words.
    public var secrets: [String] {
        var texts: [String] = []
        for header in headers {
            texts.append(header.value)
            texts += header.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
        if let userinfo = url.userinfo { texts += [userinfo.user, userinfo.password] }
        texts += url.queryValues
        texts += substituted
        let schemes: Set<String> = ["bearer", "basic", "digest", "negotiate", "token"] // words, not secrets
        return Array(Set(texts.filter { $0.utf8.count >= 6 && !schemes.contains($0.lowercased()) })).sorted { $0.utf8.count > $1.utf8.count }
    }

    /// The URL as logs, errors and status may show it: no userinfo, no query, and no substituted
    /// value (a key in the path stays hidden).
    public var shownURL: String { ErrorText.redacting(secrets, in: url.redacted) }

    static func isTokenByte(_ b: UInt8) -> Bool { WWWAuthenticate.Reader.isTChar(b) }
}
