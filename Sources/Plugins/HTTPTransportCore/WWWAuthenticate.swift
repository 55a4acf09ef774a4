/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1): a scheme and its parameters.
public struct AuthChallenge: Sendable, Equatable {
    /// The scheme, lower-cased ("bearer", "basic").
    public var scheme: String
    /// Parameters with lower-cased names, in order; quoted values unescaped.
    public var parameters: [(name: String, value: String)]
    /// A token68 credential hint instead of parameters (rare).
    public var token68: String?

    public init(scheme: String, parameters: [(name: String, value: String)] = [], token68: String? = nil) {
        self.scheme = scheme
        self.parameters = parameters
        self.token68 = token68
    }

    public static func == (a: AuthChallenge, b: AuthChallenge) -> Bool {
        a.scheme == b.scheme && a.token68 == b.token68 && a.parameters.elementsEqual(b.parameters, by: { $0.name == $1.name && $0.value == $1.value })
    }

    public subscript(parameter name: String) -> String? {
        parameters.first { $0.name == name }?.value
    }
}

/// Parses `WWW-Authenticate` header values into challenges. Tolerant: a malformed tail ends the
/// parse and keeps what was read before it.
public enum WWWAuthenticate {
    public static func parse(_ values: [String]) -> [AuthChallenge] {
        values.flatMap(parse)
    }

    public static func parse(_ value: String) -> [AuthChallenge] {
        var reader = Reader(Array(value.utf8))
        var challenges: [AuthChallenge] = []
        while true {
            reader.skip(whereTrue: { $0 == 0x20 || $0 == 0x09 || $0 == UInt8(ascii: ",") })
            guard let scheme = reader.token(), !scheme.isEmpty else { break }
            var challenge = AuthChallenge(scheme: scheme.lowercased())
            // After the scheme: nothing, a token68, or a comma-separated list of name=value.
            while true {
                let save = reader.position
                reader.skip(whereTrue: { $0 == 0x20 || $0 == 0x09 })
                if challenge.parameters.isEmpty, challenge.token68 == nil, let t68 = reader.token68() {
                    challenge.token68 = t68
                    break
                }
                guard let name = reader.token(), !name.isEmpty else { reader.position = save; break }
                reader.skip(whereTrue: { $0 == 0x20 || $0 == 0x09 })
                guard reader.consume(UInt8(ascii: "=")) else {
                    reader.position = save // the next challenge's scheme
                    break
                }
                reader.skip(whereTrue: { $0 == 0x20 || $0 == 0x09 })
                let value = reader.peek == UInt8(ascii: "\"") ? reader.quoted() : reader.token()
                guard let value else { break }
                challenge.parameters.append((name.lowercased(), value))
                reader.skip(whereTrue: { $0 == 0x20 || $0 == 0x09 })
                if !reader.consume(UInt8(ascii: ",")) { break }
            }
            challenges.append(challenge)
            if reader.atEnd { break }
        }
        return challenges
    }

    struct Reader {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position >= bytes.count }
        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skip(whereTrue predicate: (UInt8) -> Bool) {
            while position < bytes.count, predicate(bytes[position]) { position += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            position += 1
            return true
        }

        static func isTChar(_ b: UInt8) -> Bool {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            default: return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
            }
        }

        mutating func token() -> String? {
            let start = position
            skip(whereTrue: Self.isTChar)
            return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
        }

        /// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", followed by the end or a comma.
        mutating func token68() -> String? {
            let start = position
            skip(whereTrue: { b in
                switch b {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
                default: Array("-._~+/".utf8).contains(b)
                }
            })
            guard position > start else { return nil }
            skip(whereTrue: { $0 == UInt8(ascii: "=") })
            let end = position
            skip(whereTrue: { $0 == 0x20 || $0 == 0x09 })
            if atEnd || peek == UInt8(ascii: ",") {
                return String(decoding: bytes[start..<end], as: UTF8.self)
            }
            position = start
            return nil
        }

        mutating func quoted() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            var out: [UInt8] = []
            while position < bytes.count {
                let b = bytes[position]
                position += 1
                if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                if b == UInt8(ascii: "\\"), position < bytes.count {
                    out.append(bytes[position])
                    position += 1
                    continue
                }
                out.append(b)
            }
            return String(decoding: out, as: UTF8.self) // unterminated: keep what was there
        }
    }
}
