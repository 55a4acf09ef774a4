/// One measured figure: what was measured (mode and name), its value and unit, and the target it
/// is held against, if any. The table row, the JSON line and the markdown row are all made from
/// this one value, so the three never disagree.
public struct Metric: Equatable, Sendable {
    public enum Unit: String, Sendable, CaseIterable {
        case callsPerSecond = "calls/s"
        case ratio
        case microseconds = "µs"
        case milliseconds = "ms"
        case megabytes = "MB"
        case kilobytes = "KB"
        case count
        case seconds = "s"
    }

    /// A bound the value must meet: `>= bound` or `<= bound`.
    public struct Target: Equatable, Sendable {
        public enum Comparison: String, Sendable { case atLeast = ">=", atMost = "<=" }
        public var comparison: Comparison
        public var bound: Double
        public init(_ comparison: Comparison, _ bound: Double) {
            self.comparison = comparison
            self.bound = bound
        }
        public static func atLeast(_ bound: Double) -> Target { Target(.atLeast, bound) }
        public static func atMost(_ bound: Double) -> Target { Target(.atMost, bound) }

        public func isMet(by value: Double) -> Bool {
            switch comparison {
            case .atLeast: value >= bound
            case .atMost: value <= bound
            }
        }
    }

    public enum Verdict: String, Sendable {
        /// Meets its target.
        case pass
        /// Misses its target.
        case fail
        /// No target: reported for information.
        case info
        /// Has a target but no value (the run did not produce it).
        case missing
    }

    /// The benchmark mode that produced it (`stdio`, `http`, `mix`, `scale`, `memory`).
    public var mode: String
    public var name: String
    /// Nil when the run could not produce the value (then a target counts as missed).
    public var value: Double?
    public var unit: Unit
    public var target: Target?
    /// A short remark shown beside the value (e.g. the rounds it is a median of).
    public var note: String?

    public init(mode: String, name: String, value: Double?, unit: Unit, target: Target? = nil, note: String? = nil) {
        self.mode = mode
        self.name = name
        self.value = value.flatMap { $0.isFinite ? $0 : nil }
        self.unit = unit
        self.target = target
        self.note = note
    }

    public var verdict: Verdict {
        guard let target else { return .info }
        guard let value else { return .missing }
        return target.isMet(by: value) ? .pass : .fail
    }

    /// The value as shown in tables, e.g. `31,234 calls/s`, `0.52`, `12.3 µs`; `-` when missing.
    public var formattedValue: String {
        guard let value else { return "-" }
        return NumberFormatting.format(value, unit: unit)
    }

    /// The target as shown in tables, e.g. `>= 30,000 calls/s`; empty without one.
    public var formattedTarget: String {
        guard let target else { return "" }
        return "\(target.comparison == .atLeast ? "≥" : "≤") \(NumberFormatting.format(target.bound, unit: unit))"
    }
}

/// Number formatting that does not depend on the locale: `.` as the decimal point, `,` between
/// thousands.
public enum NumberFormatting {
    public static func format(_ value: Double, unit: Metric.Unit) -> String {
        switch unit {
        case .callsPerSecond: return grouped(value, decimals: 0) + " calls/s"
        case .ratio: return fixed(value, decimals: 2)
        case .microseconds: return grouped(value, decimals: abs(value) < 100 ? 1 : 0) + " µs"
        case .milliseconds: return grouped(value, decimals: abs(value) < 100 ? 2 : 0) + " ms"
        case .megabytes: return fixed(value, decimals: 1) + " MB"
        case .kilobytes: return fixed(value, decimals: 1) + " KB"
        case .count: return grouped(value, decimals: 0)
        case .seconds: return fixed(value, decimals: 3) + " s"
        }
    }

    /// `value` rounded to `decimals` places, thousands separated by `,`.
    public static func grouped(_ value: Double, decimals: Int) -> String {
        let text = fixed(value, decimals: decimals)
        let negative = text.hasPrefix("-")
        let unsigned = negative ? String(text.dropFirst()) : text
        let parts = unsigned.split(separator: ".", maxSplits: 1)
        let integer = Array(parts.first ?? "0")
        var groupedInteger = ""
        for (offset, digit) in integer.enumerated() {
            if offset > 0 && (integer.count - offset) % 3 == 0 { groupedInteger.append(",") }
            groupedInteger.append(digit)
        }
        let fraction = parts.count > 1 ? "." + parts[1] : ""
        return (negative ? "-" : "") + groupedInteger + fraction
    }

    /// `value` rounded half away from zero to `decimals` (0...6) places, without exponent notation.
    /// Values too large for exact integer formatting (beyond 1e15) are printed as Swift prints them.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        let places = Swift.max(0, Swift.min(6, decimals))
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 1e15 else { return "\(value)" }
        let units = Int64(scaled) // in range: checked just above
        let negative = value < 0 && units != 0
        let power = Int64(scale)
        let whole = units / power
        var text = (negative ? "-" : "") + String(whole)
        if places > 0 {
            let fraction = String(units % power)
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        return text
    }
}
