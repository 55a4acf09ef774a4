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
        // Whatever the server chose (the reason phrase, a challenge's error, the body) may echo what
        // it was sent (a token, a query's key): never pass that on. (Only those parts: redacting the
        // whole text would also hide our own words when a header value happens to be one.)
        func fromServer(_ text: String) -> String { redacting(secrets, in: text) }
        if status == 401 {
            let challenges = WWWAuthenticate.parse(wwwAuthenticate)
            if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
                // A token that was sent and refused, with no pointer to OAuth: say so rather than "needs OAuth".
                if sentAuthorization, bearer[parameter: "resource_metadata"] == nil {
                    let error = bearer[parameter: "error"].map { "; \(ErrorText.printable(fromServer($0), limit: 40))" } ?? ""
                    return "mcp-host: backend '\(backend)' answered HTTP 401 Unauthorized (Bearer\(error)): the server refused the token given in this server's \"headers\""
                }
                var text = "mcp-host: backend '\(backend)' needs OAuth (HTTP 401"
                if let metadata = bearer[parameter: "resource_metadata"], let url = try? RemoteURL(metadata) {
                    text += "; metadata at \(fromServer(url.redacted))"
                }
                text += "); mcp-host does not do OAuth yet: give a token in this server's \"headers\", e.g. \"Authorization\": \"Bearer ${TOKEN}\""
                return text
            }
        }
        var text = "mcp-host: backend '\(backend)' answered HTTP \(status)"
        if !reason.isEmpty { text += " \(ErrorText.printable(fromServer(reason), limit: 80))" }
        if (300...399).contains(status), let location, let url = try? RemoteURL(location) {
            text += " (redirect to \(fromServer(url.redacted))); give that URL in this server's \"url\""
        }
        if let excerpt = excerpt(body, contentType: contentType, secrets: secrets) { text += ": " + excerpt }
        return text
    }

    /// At most 200 bytes of a text or JSON body (cut at a character boundary, control characters
    /// turned into spaces), or nil for other bodies and empty ones.
    /// Each secret is replaced by "[redacted]" before the cut, so that none is shown in part.
    public static func excerpt(_ body: [UInt8], contentType: String?, limit: Int = 200, secrets: [String] = []) -> String? {
        let type = (contentType ?? "").lowercased()
        guard type.isEmpty || type.hasPrefix("text/") || type.contains("json") else { return nil }
        // Enough of the body that a secret straddling the cut is still whole when redacted.
        let window = limit + 4 + (secrets.map(\.utf8.count).max() ?? 0)
        let shown = body.prefix(window)
        var text = redacting(secrets, in: String(decoding: shown, as: UTF8.self))
        text = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
        text = text.trimmingWhitespace()
        guard !text.isEmpty else { return nil }
        var cut = ""
        for character in text {
            if cut.utf8.count + String(character).utf8.count > limit { return cut + "…" }
            cut.append(character)
        }
        return body.count > shown.count ? cut + "…" : cut
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
    public static func unreachable(backend: String, url: RemoteURL, reason: String, secrets: [String] = []) -> String {
        redacting(secrets, in: "mcp-host: cannot reach backend '\(backend)' at \(url.redacted): \(reason)")
    }

    /// The answer for a message larger than the transport keeps.
    public static func tooLarge(backend: String, bytes: Int, limit: Int) -> String {
        "mcp-host: backend '\(backend)' sent a message of \(bytes)+ bytes, more than the \(limit >> 20) MiB limit; dropped"
    }
}
