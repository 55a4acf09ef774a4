import PluginAPI

/// Who a client is, as the host authenticated it (never what the client says about itself in
/// `clientInfo`): what routers' `allow` is asked about (`mcph_caller`, ABI 1.4).
///
/// An HTTP client with a bearer token has the subject and roles configured for that token (none
/// for a bare token or `$MCP_HOST_AUTH_TOKEN`); stdio, socket and the host's own one-shot (cli)
/// clients have none. `frontEnd` says how the client is connected.
public struct Caller: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// "" when the client is not authenticated or its token has no subject.
    public var subject: String
    public var roles: [String]
    /// "stdio", "http", "socket" or "cli".
    public var frontEnd: String

    public init(subject: String = "", roles: [String] = [], frontEnd: String) {
        self.subject = subject
        self.roles = roles
        self.frontEnd = frontEnd
    }

    /// An unauthenticated client of a front-end.
    public static func anonymous(_ frontEnd: String) -> Caller { Caller(frontEnd: frontEnd) }

    /// The front-end a session label names (`stdio`, `socket-N`, `cli`, `streamable:…`/`legacy:…`
    /// for HTTP): the caller of a session opened without one. An HTTP session is always opened
    /// with its authenticated caller; this only names the front-end of the others.
    static func frontEnd(ofLabel label: String) -> String {
        if label.hasPrefix("socket") { return "socket" }
        if label.hasPrefix("streamable:") || label.hasPrefix("legacy:") { return "http" }
        if label == "cli" { return "cli" }
        return "stdio"
    }

    /// For logs: the subject and roles, never a token.
    public var description: String {
        (subject.isEmpty ? "(no subject)" : subject) + (roles.isEmpty ? "" : " roles=" + roles.joined(separator: ",")) + " via \(frontEnd)"
    }

    /// Runs `body` with an `mcph_caller` whose pointers borrow this value's bytes for the call.
    /// Every string pointer is non-NULL (an empty subject points at ""), and each string is
    /// followed by a NUL the lengths do not count; `roles` is NULL when there are none.
    func withABI<Result>(_ body: (UnsafePointer<mcph_caller>) -> Result) -> Result {
        // One buffer: subject, front-end, then each role, each followed by a NUL.
        var text: [CChar] = []
        var spans: [(offset: Int, count: Int)] = []
        for string in [subject, frontEnd] + roles {
            spans.append((text.count, string.utf8.count))
            text += string.utf8.map { CChar(bitPattern: $0) }
            text.append(0)
        }
        return text.withUnsafeBufferPointer { storage in
            let base = storage.baseAddress! // never empty: at least two NULs
            let roleSpans = spans.dropFirst(2)
            let rolePointers: [UnsafePointer<CChar>?] = roleSpans.map { base + $0.offset }
            let roleLengths = roleSpans.map(\.count)
            return rolePointers.withUnsafeBufferPointer { roles in
                roleLengths.withUnsafeBufferPointer { lengths in
                    var caller = mcph_caller(
                        struct_size: UInt32(MemoryLayout<mcph_caller>.size),
                        subject: base + spans[0].offset, subject_len: spans[0].count,
                        roles: roles.isEmpty ? nil : roles.baseAddress,
                        role_lens: lengths.isEmpty ? nil : lengths.baseAddress,
                        role_count: roles.count,
                        front_end: base + spans[1].offset, front_end_len: spans[1].count)
                    return withUnsafePointer(to: &caller) { body($0) }
                }
            }
        }
    }
}
