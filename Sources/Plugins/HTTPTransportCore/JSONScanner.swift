/// A strict, allocation-light JSON reader over bytes: skips values (returning their byte range),
/// decodes strings, and parses whole values where the caller needs them (configs are small).
///
/// Nesting is bounded (`maxDepth`) so that hostile input cannot exhaust the stack. Every index is
/// checked against `bytes.count`; nothing here traps on outside input.
public struct JSONScanner {
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    public static let maxDepth = 128

    public let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var atEnd: Bool { position >= bytes.count }

    private func fail(_ reason: String) -> Malformed { Malformed(offset: position, reason: reason) }

    public mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    public mutating func peekByte() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    public mutating func expect(_ byte: UInt8) throws(Malformed) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else {
            throw fail("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    /// Skips one value; returns the byte range it occupied (without surrounding whitespace).
    @discardableResult
    public mutating func skipValue(depth: Int = 0) throws(Malformed) -> Range<Int> {
        guard depth < Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) levels") }
        skipWhitespace()
        guard position < bytes.count else { throw fail("unexpected end") }
        let start = position
        switch bytes[position] {
        case UInt8(ascii: "{"):
            position += 1
            if peekByte() == UInt8(ascii: "}") { position += 1; return start..<position }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                try skipString()
                try expect(UInt8(ascii: ":"))
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end in an object") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return start..<position }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            position += 1
            if peekByte() == UInt8(ascii: "]") { position += 1; return start..<position }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end in an array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return start..<position }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            try skipNumber()
        }
        return start..<position
    }

    private mutating func literal(_ word: StaticString) throws(Malformed) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw fail("unexpected end") }
        for i in 0..<count where bytes[position + i] != word.utf8Start[i] { throw fail("unknown literal") }
        position += count
    }

    /// A JSON number; returns true when it had a fraction or an exponent.
    @discardableResult
    private mutating func skipNumber() throws(Malformed) -> Bool {
        let start = position
        var fractional = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let digitsStart = position
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        guard position > digitsStart else { position = start; throw fail("unexpected character") }
        if bytes[digitsStart] == UInt8(ascii: "0"), position - digitsStart > 1 { throw fail("leading zero in a number") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            fractional = true
            position += 1
            let fractionStart = position
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            guard position > fractionStart else { throw fail("digits expected after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            fractional = true
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            let exponentStart = position
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            guard position > exponentStart else { throw fail("digits expected in an exponent") }
        }
        return fractional
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipString() throws(Malformed) {
        position += 1 // opening quote
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { position += 1; return }
            if byte == UInt8(ascii: "\\") { position += 2; continue }
            if byte < 0x20 { throw fail("control character in a string") }
            position += 1
        }
        throw fail("unterminated string")
    }

    /// Reads a string value and decodes its escapes.
    public mutating func readString() throws(Malformed) -> String {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        position += 1
        var runStart = position
        var out = ""
        func flush(_ end: Int) {
            if end > runStart { out += String(decoding: bytes[runStart..<end], as: UTF8.self) }
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                flush(position)
                position += 1
                return out
            }
            if byte < 0x20 { throw fail("control character in a string") }
            guard byte == UInt8(ascii: "\\") else { position += 1; continue }
            flush(position)
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): out += "\""
            case UInt8(ascii: "\\"): out += "\\"
            case UInt8(ascii: "/"): out += "/"
            case UInt8(ascii: "b"): out += "\u{08}"
            case UInt8(ascii: "f"): out += "\u{0C}"
            case UInt8(ascii: "n"): out += "\n"
            case UInt8(ascii: "r"): out += "\r"
            case UInt8(ascii: "t"): out += "\t"
            case UInt8(ascii: "u"):
                var unit = try hex4()
                if (0xD800...0xDBFF).contains(unit), bytes.count - position >= 6,
                   bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                    let save = position
                    position += 2
                    let low = try hex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        position = save
                    }
                }
                out.unicodeScalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
            default:
                throw fail("unknown escape")
            }
            runStart = position
        }
        throw fail("unterminated string")
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard bytes.count - position >= 4 else { throw fail("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("bad hex digit in a \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// Walks the members of the object at the current position, calling `visit` with each name and
    /// the scanner positioned at the member's value. `visit` must consume the value (or not touch
    /// the position: then it is skipped).
    public mutating func forEachMember(_ visit: (String, inout JSONScanner) throws(Malformed) -> Void) throws(Malformed) {
        try expect(UInt8(ascii: "{"))
        if peekByte() == UInt8(ascii: "}") { position += 1; return }
        while true {
            let name = try readString()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let before = position
            try visit(name, &self)
            if position == before { try skipValue(depth: 1) }
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end in an object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    /// Parses one whole value.
    public mutating func parseValue(depth: Int = 0) throws(Malformed) -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) levels") }
        guard let byte = peekByte() else { throw fail("unexpected end") }
        switch byte {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            try forEachMember { (name, scanner) throws(Malformed) in
                members[name] = try scanner.parseValue(depth: depth + 1)
            }
            return .object(members)
        case UInt8(ascii: "["):
            position += 1
            var items: [JSONValue] = []
            if peekByte() == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end in an array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            let start = position
            let fractional = try skipNumber()
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if !fractional, let integer = Int(text) { return .integer(integer) }
            guard let number = Double(text), number.isFinite else { throw Malformed(offset: start, reason: "number out of range") }
            return .number(number)
        }
    }

    /// Parses `bytes` as exactly one JSON value (whitespace around it allowed).
    public static func parse(_ bytes: [UInt8]) throws(Malformed) -> JSONValue {
        var scanner = JSONScanner(bytes)
        let value = try scanner.parseValue()
        scanner.skipWhitespace()
        guard scanner.atEnd else { throw Malformed(offset: scanner.position, reason: "text after the value") }
        return value
    }
}

/// A parsed JSON value that keeps integers apart from other numbers and booleans.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
