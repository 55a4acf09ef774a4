import Foundation

/// The messages the transport answers a request with when the remote server could not: each names
/// the backend and what happened, and never carries a header value, the URL's userinfo or query.
public enum ErrorText {
    /// The JSON-RPC error code of every error the transport makes up itself.
    public static let code = -32000

    /// An HTTP error status: "mcp-host: backend 'x' answered HTTP 503 Service Unavailable: <excerpt>",
    /// or the OAuth hint for a 401 with a Bearer challenge.
    public static func httpStatus(backend: String, status: Int, reason: String, contentType: String?, body: [UInt8],
                                  wwwAuthenticate: [String], sentAuthorization: Bool = false, location: String? = nil,
                                  secrets: [String] = []) -> String {
        if status == 401 {
            let challenges = WWWAuthenticate.parse(wwwAuthenticate)
            if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
                // A token that was sent and refused, with no pointer to OAuth: say so rather than "needs OAuth".
                if sentAuthorization, bearer[parameter: "resource_metadata"] == nil {
                    let error = bearer[parameter: "error"].map { "; \(ErrorText.printable($0, limit: 40))" } ?? ""
                    return "mcp-host: backend '\(backend)' answered HTTP 401 Unauthorized (Bearer\(error)): the server refused the token given in this server's \"headers\""
                }
                var text = "mcp-host: backend '\(backend)' needs OAuth (HTTP 401"
                if let metadata = bearer[parameter: "resource_metadata"], let url = try? RemoteURL(metadata) {
                    text += "; metadata at \(url.redacted)"
                }
                text += "); mcp-host does not do OAuth yet: give a token in this server's \"headers\", e.g. \"Authorization\": \"Bearer ${TOKEN}\""
                return text
            }
        }
        var text = "mcp-host: backend '\(backend)' answered HTTP \(status)"
        if !reason.isEmpty { text += " \(reason)" }
        if (300...399).contains(status), let location, let url = try? RemoteURL(location) {
            text += " (redirect to \(url.redacted)); give that URL in this server's \"url\""
        }
        // A server may echo what it was sent (a token, a query's key): never pass that on.
        if let excerpt = excerpt(body, contentType: contentType) { text += ": " + redacting(secrets, in: excerpt) }
        return text
    }

    /// At most 200 bytes of a text or JSON body (cut at a character boundary, control characters
    /// turned into spaces), or nil for other bodies and empty ones.
    public static func excerpt(_ body: [UInt8], contentType: String?, limit: Int = 200) -> String? {
        let type = (contentType ?? "").lowercased()
        guard type.isEmpty || type.hasPrefix("text/") || type.contains("json") else { return nil }
        var text = String(decoding: body.prefix(limit + 4), as: UTF8.self)
        text = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
        text = text.trimmingWhitespace()
        guard !text.isEmpty else { return nil }
        var cut = ""
        for character in text {
            if cut.utf8.count + String(character).utf8.count > limit { return cut + "…" }
            cut.append(character)
        }
        return body.count > limit + 4 ? cut + "…" : cut
    }

    /// `text` with every occurrence of each secret replaced by "[redacted]" (longest first).
    public static func redacting(_ secrets: [String], in text: String) -> String {
        var out = text
        for secret in secrets where !secret.isEmpty && out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return out
    }

    /// `text` with control characters as spaces, cut to `limit` bytes.
    static func printable(_ text: String, limit: Int) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let c: Character = scalar.value < 0x20 || scalar.value == 0x7F ? " " : Character(scalar)
            if out.utf8.count + String(c).utf8.count > limit { return out + "…" }
            out.append(c)
        }
        return out
    }

    /// The answer for a request whose connection ended before the server answered.
    public static func endedBeforeAnswer(backend: String) -> String {
        "mcp-host: the HTTP connection to backend '\(backend)' ended before it answered"
    }

    /// The answer for a request lost with the server's session (its stream's resumption got 404).
    public static func lostWithSession(backend: String) -> String {
        "mcp-host: the request to backend '\(backend)' was lost with the remote session (the server forgot it, e.g. after a restart); retry it"
    }

    /// The answer when the remote end cannot be reached (refused, DNS, TLS, timeout).
    public static func unreachable(backend: String, url: RemoteURL, reason: String) -> String {
        "mcp-host: cannot reach backend '\(backend)' at \(url.redacted): \(reason)"
    }

    /// The answer for a message larger than the transport keeps.
    public static func tooLarge(backend: String, bytes: Int, limit: Int) -> String {
        "mcp-host: backend '\(backend)' sent a message of \(bytes)+ bytes, more than the \(limit >> 20) MiB limit; dropped"
    }
}
