/// A bearer token the HTTP front-end accepts, and who it authenticates: the subject and roles
/// routers see for clients presenting it (`Caller`).
public struct BearerToken: Sendable, Equatable, CustomStringConvertible {
    /// The token itself: compared in constant time, never logged or quoted in a message.
    public let secret: String
    /// "" for a bare token (and for `$MCP_HOST_AUTH_TOKEN`): authenticated, but no subject.
    public let subject: String
    public let roles: [String]

    public init(_ secret: String, subject: String = "", roles: [String] = []) {
        self.secret = secret
        self.subject = subject
        self.roles = roles
    }

    /// Who this token authenticates, for logs (never the secret).
    public var description: String {
        (subject.isEmpty ? "a token without subject" : "subject \(subject)") + (roles.isEmpty ? "" : " (roles \(roles.joined(separator: ",")))")
    }
}

/// The `--auth-token-file` format: one token a line, optionally followed (after spaces or tabs)
/// by `subject=NAME` and `roles=a,b`, in either order:
///
///     # comment lines and blank lines are skipped
///     3f9c0d...            subject=alice roles=dev,admin
///     77ab12...            subject=ci
///     b0b0b0...
///
/// A bare token authenticates without a subject (subject ""): subject rules never match it; role
/// rules match none. Error messages name the line and never quote a token.
public enum BearerTokenFile {
    public struct LineError: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws(LineError) -> [BearerToken] {
        var tokens: [BearerToken] = []
        var firstLine: [String: Int] = [:]
        // Lines end at any newline ("\r\n" is one Character); fields are split at any whitespace.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            let fields = rawLine.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let secret = fields.first, !secret.hasPrefix("#") else { continue }
            var subject: String?, roles: [String]?
            for field in fields.dropFirst() {
                if field.hasPrefix("subject="), subject == nil {
                    let value = String(field.dropFirst("subject=".count))
                    guard Self.isName(value) else {
                        throw LineError(line: number, message: "subject= needs a name of visible characters (e.g. subject=alice)")
                    }
                    subject = value
                } else if field.hasPrefix("roles="), roles == nil {
                    let values = field.dropFirst("roles=".count).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    guard values.allSatisfy(Self.isName) else {
                        throw LineError(line: number, message: "roles= needs comma-separated names without spaces (e.g. roles=dev,admin)")
                    }
                    roles = values
                } else if field.hasPrefix("subject=") || field.hasPrefix("roles=") {
                    throw LineError(line: number, message: "\(field.hasPrefix("subject=") ? "subject=" : "roles=") is given twice")
                } else {
                    // Not quoted: a token containing a space would show part of it here.
                    throw LineError(line: number, message: "unexpected text after the token; expected subject=NAME and/or roles=a,b (a token may not contain spaces)")
                }
            }
            if let earlier = firstLine[secret] {
                throw LineError(line: number, message: "the same token as on line \(earlier); give each token once")
            }
            firstLine[secret] = number
            tokens.append(BearerToken(secret, subject: subject ?? "", roles: roles ?? []))
        }
        return tokens
    }

    /// A subject or role name: non-empty, visible ASCII or any non-ASCII, no comma or control character.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && $0 != "," }
    }
}
