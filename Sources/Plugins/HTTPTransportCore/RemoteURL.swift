import Foundation

/// An http or https URL of a remote MCP server, split into what the transport needs, with a
/// redacted form for logs and messages (scheme://host:port/path: no userinfo, no query, no
/// fragment, since both may carry secrets).
public struct RemoteURL: Sendable, Equatable {
    public let scheme: String      // "http" or "https"
    public let host: String        // without brackets for IPv6
    public let explicitPort: Int?
    public let path: String        // percent-encoded as given; "/" when empty
    /// The full URL to send requests to (fragment removed; userinfo removed: it goes in a header).
    public let requestURL: String
    /// user:password from the URL, if any (percent-decoded).
    public let userinfo: (user: String, password: String)?
    /// The values of the query's items (they may be API keys), percent-decoded.
    public let queryValues: [String]

    public static func == (a: RemoteURL, b: RemoteURL) -> Bool { a.requestURL == b.requestURL }

    public var port: Int { explicitPort ?? (scheme == "https" ? 443 : 80) }

    /// The host as it appears in a URL (IPv6 in brackets).
    public var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    /// scheme://host[:port]/path, for logs and error messages.
    public var redacted: String {
        "\(scheme)://\(hostForURL)\(explicitPort.map { ":\($0)" } ?? "")\(path)"
    }

    /// scheme, host and port, lower-cased: two URLs with the same origin may share credentials.
    public var origin: String { "\(scheme)://\(hostForURL.lowercased()):\(port)" }

    public enum Problem: Error, Equatable {
        case notAURL, unsupportedScheme, noHost, badPort
    }

    public init(_ text: String) throws(Problem) {
        guard !text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }),
              let components = URLComponents(string: text) else { throw .notAURL }
        guard let scheme = components.scheme?.lowercased() else { throw .notAURL }
        guard scheme == "http" || scheme == "https" else { throw .unsupportedScheme }
        guard var host = components.percentEncodedHost, !host.isEmpty else { throw .noHost }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port
        if let port, !(1...65535).contains(port) { throw .badPort }
        self.scheme = scheme
        self.host = host
        self.explicitPort = port
        let path = components.percentEncodedPath
        self.path = path.isEmpty ? "/" : path
        if let user = components.user {
            userinfo = (user, components.password ?? "")
        } else {
            userinfo = nil
        }
        queryValues = (components.queryItems ?? []).compactMap(\.value)
        var request = components
        request.fragment = nil
        request.user = nil
        request.password = nil
        if request.percentEncodedPath.isEmpty { request.percentEncodedPath = "/" }
        guard let string = request.string else { throw .notAURL }
        requestURL = string
    }

    /// Resolves the `endpoint` event's data of a legacy SSE server (a URL relative to the stream's
    /// URL, usually "/messages?session_id=…") against this URL. Refuses another origin: the
    /// configured headers (credentials) must never go to a server the user did not name.
    public func resolvingEndpoint(_ reference: String) -> Result<RemoteURL, EndpointProblem> {
        let trimmed = reference.trimmingWhitespace()
        guard !trimmed.isEmpty else { return .failure(.empty) }
        guard let base = URL(string: requestURL), let resolved = URL(string: trimmed, relativeTo: base)?.absoluteURL,
              let url = try? RemoteURL(resolved.absoluteString) else { return .failure(.invalid) }
        guard url.origin == origin else { return .failure(.otherOrigin) }
        return .success(url)
    }

    public enum EndpointProblem: Error, Equatable, CustomStringConvertible {
        case empty, invalid, otherOrigin
        public var description: String {
            switch self {
            case .empty: "the endpoint event was empty"
            case .invalid: "the endpoint event did not hold a URL"
            case .otherOrigin: "the endpoint event named another server (a different scheme, host or port); refused so that this server's headers go nowhere else"
            }
        }
    }
}
