import Foundation

/// The one duration syntax of mcp-host, in config files and on the command line:
/// `"500ms"`, `"30s"`, `"5m"`, `"1h"`, `"1d"`, sums such as `"1m30s"`, decimals such as `"1.5s"`,
/// and a bare number (JSON number or flag text such as `120` or `0.5`) meaning seconds.
///
/// Parsing only reads the syntax; it rejects what is never a duration (NaN, infinity, negative,
/// garbage). Whether a value is in range is the caller's business (`SettingCheck`), because only
/// the caller knows which option it is and what makes sense for it.
public enum DurationSyntax {
    /// What was wrong with a duration's text, without the option's name (the caller adds it).
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What was wrong, e.g. `'5x' has an unknown unit 'x'`.
        public let reason: String
        /// The reason and what to write instead.
        public var message: String { "\(reason); give \(DurationSyntax.help)" }
        public var description: String { message }
        init(reason: String) { self.reason = reason }
    }

    /// The accepted forms, for error messages.
    public static let help = "a duration such as 500ms, 30s, 5m, 1h or 1d (a bare number is seconds)"

    /// Units and their length in seconds. `ms` is tried before `m`.
    static let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]

    /// Parses flag or JSON-string text into seconds (finite, >= 0).
    public static func parse(_ text: String) throws(ParseError) -> Double {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ParseError(reason: "is empty") }
        if let bare = Double(trimmed) { return try check(bare, text: trimmed) }
        if trimmed.hasPrefix("-") { throw ParseError(reason: "'\(trimmed)' is negative") }

        // One or more NUMBER UNIT parts: "1h30m", "1.5s".
        var total = 0.0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? rest.endIndex
            let numberText = rest[..<numberEnd]
            guard !numberText.isEmpty, numberText != ".", let number = Double(numberText) else {
                throw ParseError(reason: "'\(trimmed)' is not a duration")
            }
            rest = rest[numberEnd...]
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else {
                let unitEnd = rest.firstIndex { $0.isASCII && ($0.isNumber || $0 == ".") } ?? rest.endIndex
                let unitText = rest[..<unitEnd]
                throw ParseError(reason: unitText.isEmpty
                    ? "'\(trimmed)' has a number without a unit after another part"
                    : "'\(trimmed)' has an unknown unit '\(unitText)' (units: ms, s, m, h, d)")
            }
            rest = rest.dropFirst(unit.suffix.count)
            total += number * unit.seconds
        }
        return try check(total, text: trimmed)
    }

    /// Parses a JSON value (a string in the syntax above, or a number of seconds) into seconds.
    /// `value` is what `JSONSerialization` produced: `String`, or a number (never a `Bool`).
    public static func parse(json value: Any) throws(ParseError) -> Double {
        if let text = value as? String { return try parse(text) }
        if let number = JSONNumber.double(value) { return try check(number, text: JSONNumber.text(value)) }
        throw ParseError(reason: "must be a string such as \"30s\" or a number of seconds, not \(JSONNumber.typeName(value))")
    }

    /// Seconds as the shortest exact text in this syntax ("500ms", "30s", "1d"), for messages.
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "\(seconds)" }
        if seconds == 0 { return "0s" }
        for unit in units.reversed() {
            let count = seconds / unit.seconds
            if count >= 1, count == count.rounded(), count < 1e15 { return "\(Int64(count))\(unit.suffix)" }
        }
        let ms = seconds * 1000
        return "\(ms)ms"
    }

    private static func check(_ seconds: Double, text: String) throws(ParseError) -> Double {
        if seconds.isNaN { throw ParseError(reason: "'\(text)' is not a number") }
        if seconds < 0 { throw ParseError(reason: "'\(text)' is negative") }
        if seconds.isInfinite { throw ParseError(reason: "'\(text)' is infinite") }
        return seconds
    }
}

/// Reading numbers out of `JSONSerialization` values without mistaking `true` for 1.
enum JSONNumber {
    /// `JSONSerialization` gives `true`/`false` as a boolean `NSNumber` subclass, which also casts
    /// to `Int` and `Double`; compare its dynamic type with a known boolean's.
    private static let booleanType = type(of: NSNumber(value: true))

    /// The value as a Double when it is a JSON number (not true/false).
    static func double(_ value: Any) -> Double? {
        guard let number = value as? NSNumber, !isBool(value) else { return nil }
        return number.doubleValue
    }

    /// The value as an Int when it is a JSON number with no fraction that fits an `Int`.
    static func integer(_ value: Any) -> Int? {
        guard let number = double(value), number.rounded() == number,
              number >= -9_223_372_036_854_775_808.0, number < 9_223_372_036_854_775_808.0 else { return nil }
        return Int(number)
    }

    static func isBool(_ value: Any) -> Bool {
        if value is Bool, !(value is NSNumber) { return true }
        guard let number = value as? NSNumber else { return false }
        return type(of: number) == booleanType
    }

    static func text(_ value: Any) -> String { "\(value)" }

    static func typeName(_ value: Any) -> String {
        if isBool(value) { return "true/false" }
        switch value {
        case is NSNumber: return "a number"
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "null"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
