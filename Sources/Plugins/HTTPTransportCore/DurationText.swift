/// Durations in configs: `"500ms"`, `"10s"`, `"5m"`, `"1h"`, sums such as `"1m30s"`, decimals such
/// as `"1.5s"`, or a bare number (a JSON number or numeric text) meaning seconds. The same syntax
/// as the host's other duration settings.
public enum DurationText {
    /// Seconds, or nil when `text` is not a duration (negative, NaN, infinite, unknown unit, empty).
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { return nil }
        if let bare = Double(trimmed) { return valid(bare) }
        var total = 0.0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !(("0"..."9").contains($0) || $0 == ".") } ?? rest.endIndex
            guard numberEnd > rest.startIndex, let number = Double(rest[..<numberEnd]) else { return nil }
            rest = rest[numberEnd...]
            let unit: Double
            if rest.hasPrefix("ms") { unit = 0.001; rest = rest.dropFirst(2) }
            else if rest.hasPrefix("s") { unit = 1; rest = rest.dropFirst() }
            else if rest.hasPrefix("m") { unit = 60; rest = rest.dropFirst() }
            else if rest.hasPrefix("h") { unit = 3600; rest = rest.dropFirst() }
            else if rest.hasPrefix("d") { unit = 86400; rest = rest.dropFirst() }
            else { return nil }
            total += number * unit
        }
        return valid(total)
    }

    /// Seconds of a JSON value: a string in the syntax above or a number of seconds.
    public static func seconds(json value: JSONValue) -> Double? {
        switch value {
        case .string(let text): return seconds(text)
        case .integer(let n): return valid(Double(n))
        case .number(let d): return valid(d)
        default: return nil
        }
    }

    private static func valid(_ seconds: Double) -> Double? {
        seconds.isFinite && seconds >= 0 ? seconds : nil
    }
}

extension String {
    /// Without leading and trailing whitespace (spaces, tabs, line ends).
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
