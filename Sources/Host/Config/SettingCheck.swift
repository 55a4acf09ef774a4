/// A user-given number (flag, environment variable or config key) that is not acceptable: names
/// the setting, what was given, and the accepted range.
public struct SettingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The setting as the user wrote it: `--request-timeout`, `MCP_HOST_REQUEST_TIMEOUT`, `shutdown_grace`.
    public let setting: String
    public let message: String

    public init(setting: String, message: String) {
        self.setting = setting
        self.message = message
    }

    public var description: String { "\(setting): \(message)" }
}

/// Checks every number a user gives when it is parsed, so nothing out of range reaches the code
/// that converts or adds it. Each check names the setting and the accepted range in its error.
public enum SettingCheck {
    /// An inclusive range of seconds, with how to say it.
    public struct DurationRange: Sendable {
        public let lower: Double
        public let upper: Double
        public init(_ lower: Double, _ upper: Double) {
            self.lower = lower
            self.upper = upper
        }
        public var text: String { "from \(DurationSyntax.format(lower)) to \(DurationSyntax.format(upper))" }
        /// What to write instead, for error messages.
        public var advice: String { "give a duration \(text), e.g. 500ms, 30s, 5m (a bare number is seconds)" }
        public func contains(_ seconds: Double) -> Bool { seconds >= lower && seconds <= upper }
    }

    /// Parses a duration from flag or environment text and checks its range.
    public static func duration(_ text: String, setting: String, range: DurationRange) throws(SettingError) -> Double {
        let seconds: Double
        do {
            seconds = try DurationSyntax.parse(text)
        } catch {
            throw SettingError(setting: setting, message: "\(error.reason); \(range.advice)")
        }
        return try check(seconds, given: text, setting: setting, range: range)
    }

    /// Parses a duration from a JSON value (string or number of seconds) and checks its range.
    public static func duration(json value: Any, setting: String, range: DurationRange) throws(SettingError) -> Double {
        let seconds: Double
        do {
            seconds = try DurationSyntax.parse(json: value)
        } catch {
            throw SettingError(setting: setting, message: "\(error.reason); \(range.advice)")
        }
        return try check(seconds, given: (value as? String) ?? JSONNumber.text(value), setting: setting, range: range)
    }

    /// Parses a whole number from flag or environment text and checks its range.
    public static func integer(_ text: String, setting: String, range: ClosedRange<Int>) throws(SettingError) -> Int {
        let trimmed = text.trimmingWhitespace()
        guard let value = Int(trimmed) else {
            let reason: String
            if trimmed.isEmpty {
                reason = "is empty"
            } else if let number = Double(trimmed), number.isFinite, number.rounded() == number {
                reason = "'\(trimmed)' is out of range"
            } else {
                reason = "'\(trimmed)' is not a whole number"
            }
            throw SettingError(setting: setting, message: "\(reason); give a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return try check(value, setting: setting, range: range)
    }

    /// Checks a whole number from a JSON value.
    public static func integer(json value: Any, setting: String, range: ClosedRange<Int>) throws(SettingError) -> Int {
        guard let number = JSONNumber.double(value) else {
            throw SettingError(setting: setting, message: "must be a whole number from \(range.lowerBound) to \(range.upperBound), not \(JSONNumber.typeName(value))")
        }
        guard let integer = JSONNumber.integer(value) else {
            let reason = number.rounded() == number ? "is out of range" : "is not a whole number"
            throw SettingError(setting: setting, message: "\(JSONNumber.text(value)) \(reason); give a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return try check(integer, setting: setting, range: range)
    }

    static func check(_ value: Int, setting: String, range: ClosedRange<Int>) throws(SettingError) -> Int {
        guard range.contains(value) else {
            let where_ = value < range.lowerBound ? "too small" : "too large"
            throw SettingError(setting: setting, message: "\(value) is \(where_); give a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func check(_ seconds: Double, given: String, setting: String, range: DurationRange) throws(SettingError) -> Double {
        guard range.contains(seconds) else {
            let where_ = seconds < range.lower ? (seconds == 0 ? "zero, which makes no sense here" : "too short") : "too long"
            throw SettingError(setting: setting, message: "'\(given.trimmingWhitespace())' is \(where_); \(range.advice)")
        }
        return seconds
    }
}
