/// A zero-copy scanner over raw JSON bytes.
///
/// The forwarding path never decodes a whole message: it finds the byte ranges of the few members
/// it must read or replace (`id`, `method`, `params.name`, `params._meta.progressToken`, ...) and
/// leaves every other byte as it came, so fields the host does not know survive untouched.
/// The scanner validates structure as it skips values (strings, escapes, nesting, literals).
public struct JSONScanner: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        case unexpectedEnd
        case unexpectedByte(offset: Int)
        case tooDeep
    }

    /// Nesting bound; deeper input is refused rather than risking the stack.
    public static let maximumDepth = 256

    /// One `"key": value` member of an object, as byte ranges into the scanned buffer.
    public struct Member: Sendable, Equatable {
        /// Range of the key's content, without quotes (escapes left as they are).
        public var key: Range<Int>
        /// Range of the value, from its first to its last byte.
        public var value: Range<Int>
    }

    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    // MARK: - Entry points

    /// Index of the first non-whitespace byte at or after `index`.
    public func skipWhitespace(from index: Int) -> Int {
        var i = index
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return i
            }
        }
        return i
    }

    /// Range of the single JSON value starting at or after `index` (leading whitespace skipped).
    public func valueRange(at index: Int) throws(Failure) -> Range<Int> {
        let start = skipWhitespace(from: index)
        let end = try skipValue(at: start, depth: 0)
        return start..<end
    }

    /// Checks that the whole buffer is exactly one JSON value (surrounding whitespace allowed)
    /// and returns its range.
    public func documentRange() throws(Failure) -> Range<Int> {
        let range = try valueRange(at: 0)
        let tail = skipWhitespace(from: range.upperBound)
        guard tail == bytes.count else { throw .unexpectedByte(offset: tail) }
        return range
    }

    /// One pass over a message that is an object: validates the whole buffer exactly as
    /// `documentRange` does (same checks, same order, so the same failure), and returns the
    /// object's range, its members and, when the first member named `nested` holds an object,
    /// that object's members (e.g. a request's `params`): no byte is scanned twice. Nil when the
    /// buffer does not start with `{` (the caller then uses `documentRange`).
    public func objectDocument(nested: StaticString) throws(Failure) -> (object: Range<Int>, members: [Member], nested: [Member]?)? {
        let start = skipWhitespace(from: 0)
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{") else { return nil }
        let needle = UnsafeBufferPointer(start: nested.utf8Start, count: nested.utf8CodeUnitCount)
        var members: [Member] = []
        members.reserveCapacity(6)
        var inner: [Member]?
        let end = try scanObject(at: start, depth: 0, into: &members, nestedKey: needle, nested: &inner)
        let tail = skipWhitespace(from: end)
        guard tail == bytes.count else { throw .unexpectedByte(offset: tail) }
        return (start..<end, members, inner)
    }

    /// `skipValue` for the object starting at `start`, recording its members (and those of the
    /// first member named `nestedKey` whose value is an object). Same checks as `skipValue`.
    private func scanObject(at start: Int, depth: Int, into members: inout [Member], nestedKey: UnsafeBufferPointer<UInt8>?,
                            nested: inout [Member]?) throws(Failure) -> Int {
        guard depth < Self.maximumDepth else { throw .tooDeep }
        var i = skipWhitespace(from: start + 1)
        guard i < bytes.count else { throw .unexpectedEnd }
        if bytes[i] == UInt8(ascii: "}") { return i + 1 }
        var lookingForNested = nestedKey != nil // only the first member of that name counts
        while true {
            guard i < bytes.count else { throw .unexpectedEnd }
            guard bytes[i] == UInt8(ascii: "\"") else { throw .unexpectedByte(offset: i) }
            let keyEnd = try skipString(at: i)
            let key = (i + 1)..<(keyEnd - 1)
            i = skipWhitespace(from: keyEnd)
            guard i < bytes.count else { throw .unexpectedEnd }
            guard bytes[i] == UInt8(ascii: ":") else { throw .unexpectedByte(offset: i) }
            let valueStart = skipWhitespace(from: i + 1)
            var isNested = false
            if lookingForNested, let nestedKey, keyText(key).elementsEqual(nestedKey) {
                lookingForNested = false
                isNested = valueStart < bytes.count && bytes[valueStart] == UInt8(ascii: "{")
            }
            let valueEnd: Int
            if isNested {
                var found: [Member] = []
                var none: [Member]?
                valueEnd = try scanObject(at: valueStart, depth: depth + 1, into: &found, nestedKey: nil, nested: &none)
                nested = found
            } else {
                valueEnd = try skipValue(at: valueStart, depth: depth + 1)
            }
            members.append(Member(key: key, value: valueStart..<valueEnd))
            i = skipWhitespace(from: valueEnd)
            guard i < bytes.count else { throw .unexpectedEnd }
            if bytes[i] == UInt8(ascii: ",") { i = skipWhitespace(from: i + 1); continue }
            if bytes[i] == UInt8(ascii: "}") { return i + 1 }
            throw .unexpectedByte(offset: i)
        }
    }

    /// The first of `members` named `key` (compared as decoded text, as `member` compares).
    public func first(_ key: String, among members: [Member]) -> Member? {
        var key = key
        return key.withUTF8 { needle in members.first { keyText($0.key).elementsEqual(needle) } }
    }

    /// The members of the object occupying `range` (which must start with `{`).
    public func members(ofObject range: Range<Int>) throws(Failure) -> [Member] {
        var result: [Member] = []
        try forEachMember(ofObject: range) { result.append($0); return true }
        return result
    }

    /// The first member named `key` in the object at `range`, or nil. Keys are compared as decoded
    /// text (`"\u0069d"` is `id`); `Envelope` reads the top-level members the same way, and refuses
    /// a message with a duplicate key where it reads, so "first" is also the only one there.
    public func member(_ key: String, inObject range: Range<Int>) throws(Failure) -> Member? {
        let needle = Array(key.utf8)
        var found: Member?
        try forEachMember(ofObject: range) { member in
            if keyEquals(member.key, needle) { found = member; return false }
            return true
        }
        return found
    }

    /// Follows a path of object keys from the object at `range`, e.g. `["params", "_meta", "progressToken"]`.
    public func member(path: [String], inObject range: Range<Int>) throws(Failure) -> Member? {
        var current = range
        var last: Member?
        for key in path {
            guard current.lowerBound < bytes.count, bytes[current.lowerBound] == UInt8(ascii: "{") else { return nil }
            guard let found = try member(key, inObject: current) else { return nil }
            last = found
            current = found.value
        }
        return last
    }

    /// The name of the first key among `members` that repeats an earlier one (compared as decoded
    /// text, exactly as a peer's JSON parser compares them), or nil when every key is unique.
    /// RFC 8259 only says names SHOULD be unique, and parsers disagree on which duplicate wins
    /// (Python's `json` keeps the last, `member` here the first); a proxy that reads one copy and
    /// splices bytes must not let the peer read the other. Only keys are compared: no value is read.
    public func duplicateKey(among members: [Member]) -> String? {
        guard members.count > 1 else { return nil }
        if members.count <= 16 {
            // The usual case (an envelope, `params`, `_meta`): a few pairwise comparisons, no allocation.
            let keys = members.map { keyText($0.key) }
            for j in 1..<keys.count {
                for i in 0..<j where keys[i].elementsEqual(keys[j]) {
                    return JSONString.decode(bytes[members[j].key])
                }
            }
            return nil
        }
        var seen = Set<ArraySlice<UInt8>>(minimumCapacity: members.count)
        for member in members where !seen.insert(keyText(member.key)).inserted {
            return JSONString.decode(bytes[member.key])
        }
        return nil
    }

    /// The decoded text of the key content at `range`, as UTF-8: the raw bytes when they are plain
    /// ASCII without escapes (the common case, no copy), else the bytes of the decoded string.
    /// Keys are compared by these bytes, not by `String ==`, which would equate canonically
    /// equivalent but different text (e.g. U+212A KELVIN SIGN and "K") that a peer keeps apart.
    public func keyText(_ range: Range<Int>) -> ArraySlice<UInt8> {
        if !bytes[range].contains(where: { $0 == UInt8(ascii: "\\") || $0 >= 0x80 }) { return bytes[range] }
        return ArraySlice(Array(JSONString.decode(bytes[range]).utf8))
    }

    /// The element ranges of the array occupying `range` (which must start with `[`).
    public func elements(ofArray range: Range<Int>) throws(Failure) -> [Range<Int>] {
        guard range.lowerBound < bytes.count, bytes[range.lowerBound] == UInt8(ascii: "[") else {
            throw .unexpectedByte(offset: range.lowerBound)
        }
        var result: [Range<Int>] = []
        var i = skipWhitespace(from: range.lowerBound + 1)
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { return result }
        while true {
            let element = try valueRange(at: i)
            result.append(element)
            i = skipWhitespace(from: element.upperBound)
            guard i < bytes.count else { throw .unexpectedEnd }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { return result }
            throw .unexpectedByte(offset: i)
        }
    }

    // MARK: - Value helpers

    /// True when the value at `range` is a JSON string.
    public func isString(_ range: Range<Int>) -> Bool {
        range.lowerBound < bytes.count && bytes[range.lowerBound] == UInt8(ascii: "\"")
    }

    /// The decoded text of the string value at `range`, or nil when it is not a string.
    public func string(at range: Range<Int>) -> String? {
        guard isString(range), range.count >= 2 else { return nil }
        return JSONString.decode(bytes[(range.lowerBound + 1)..<(range.upperBound - 1)])
    }

    /// The raw bytes of a range.
    public func slice(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[range] }

    // MARK: - Internals

    private func keyEquals(_ key: Range<Int>, _ needle: [UInt8]) -> Bool {
        keyText(key).elementsEqual(needle)
    }

    private func forEachMember(ofObject range: Range<Int>, _ body: (Member) -> Bool) throws(Failure) {
        guard range.lowerBound < bytes.count, bytes[range.lowerBound] == UInt8(ascii: "{") else {
            throw .unexpectedByte(offset: range.lowerBound)
        }
        var i = skipWhitespace(from: range.lowerBound + 1)
        guard i < bytes.count else { throw .unexpectedEnd }
        if bytes[i] == UInt8(ascii: "}") { return }
        while true {
            guard i < bytes.count else { throw .unexpectedEnd }
            guard bytes[i] == UInt8(ascii: "\"") else { throw .unexpectedByte(offset: i) }
            let keyEnd = try skipString(at: i)
            let key = (i + 1)..<(keyEnd - 1)
            i = skipWhitespace(from: keyEnd)
            guard i < bytes.count else { throw .unexpectedEnd }
            guard bytes[i] == UInt8(ascii: ":") else { throw .unexpectedByte(offset: i) }
            let value = try valueRange(at: i + 1)
            if !body(Member(key: key, value: value)) { return }
            i = skipWhitespace(from: value.upperBound)
            guard i < bytes.count else { throw .unexpectedEnd }
            if bytes[i] == UInt8(ascii: ",") { i = skipWhitespace(from: i + 1); continue }
            if bytes[i] == UInt8(ascii: "}") { return }
            throw .unexpectedByte(offset: i)
        }
    }

    /// Returns the index just past the value starting exactly at `start`.
    private func skipValue(at start: Int, depth: Int) throws(Failure) -> Int {
        guard start < bytes.count else { throw .unexpectedEnd }
        guard depth < Self.maximumDepth else { throw .tooDeep }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return try skipString(at: start)
        case UInt8(ascii: "{"):
            var i = skipWhitespace(from: start + 1)
            guard i < bytes.count else { throw .unexpectedEnd }
            if bytes[i] == UInt8(ascii: "}") { return i + 1 }
            while true {
                guard i < bytes.count else { throw .unexpectedEnd }
                guard bytes[i] == UInt8(ascii: "\"") else { throw .unexpectedByte(offset: i) }
                i = skipWhitespace(from: try skipString(at: i))
                guard i < bytes.count else { throw .unexpectedEnd }
                guard bytes[i] == UInt8(ascii: ":") else { throw .unexpectedByte(offset: i) }
                i = skipWhitespace(from: try skipValue(at: skipWhitespace(from: i + 1), depth: depth + 1))
                guard i < bytes.count else { throw .unexpectedEnd }
                if bytes[i] == UInt8(ascii: ",") { i = skipWhitespace(from: i + 1); continue }
                if bytes[i] == UInt8(ascii: "}") { return i + 1 }
                throw .unexpectedByte(offset: i)
            }
        case UInt8(ascii: "["):
            var i = skipWhitespace(from: start + 1)
            guard i < bytes.count else { throw .unexpectedEnd }
            if bytes[i] == UInt8(ascii: "]") { return i + 1 }
            while true {
                i = skipWhitespace(from: try skipValue(at: skipWhitespace(from: i), depth: depth + 1))
                guard i < bytes.count else { throw .unexpectedEnd }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { return i + 1 }
                throw .unexpectedByte(offset: i)
            }
        case UInt8(ascii: "t"): return try skipLiteral("true", at: start)
        case UInt8(ascii: "f"): return try skipLiteral("false", at: start)
        case UInt8(ascii: "n"): return try skipLiteral("null", at: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try skipNumber(at: start)
        default:
            throw .unexpectedByte(offset: start)
        }
    }

    private func skipString(at start: Int) throws(Failure) -> Int {
        var i = start + 1
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { return i + 1 }
            if b == UInt8(ascii: "\\") {
                // RFC 8259 section 7: \" \\ \/ \b \f \n \r \t, or \u and four hex digits; anything
                // else is not JSON (and would reach a backend that cannot parse it). Found by Fuzz/Envelope.
                guard i + 1 < bytes.count else { throw .unexpectedEnd }
                switch bytes[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    for k in (i + 2)..<(i + 6) {
                        guard k < bytes.count else { throw .unexpectedEnd }
                        switch bytes[k] {
                        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): break
                        default: throw .unexpectedByte(offset: k)
                        }
                    }
                    i += 6
                default:
                    throw .unexpectedByte(offset: i + 1)
                }
                continue
            }
            if b < 0x20 { throw .unexpectedByte(offset: i) }
            i += 1
        }
        throw .unexpectedEnd
    }

    private func skipLiteral(_ literal: StaticString, at start: Int) throws(Failure) -> Int {
        let count = literal.utf8CodeUnitCount
        guard start + count <= bytes.count else { throw .unexpectedEnd }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for k in 0..<count where bytes[start + k] != expected[k] {
            throw .unexpectedByte(offset: start + k)
        }
        return start + count
    }

    private func skipNumber(at start: Int) throws(Failure) -> Int {
        var i = start
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        let digitsStart = i
        while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
        guard i > digitsStart else { throw i < bytes.count ? .unexpectedByte(offset: i) : .unexpectedEnd }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fraction = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > fraction else { throw i < bytes.count ? .unexpectedByte(offset: i) : .unexpectedEnd }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let exponent = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > exponent else { throw i < bytes.count ? .unexpectedByte(offset: i) : .unexpectedEnd }
        }
        return i
    }
}
