/// One option entry of a help listing, as printed: its spellings, value placeholder and inline
/// description. `parse` is strict on purpose so that prose is never read as an option: spellings
/// and placeholders must be followed by the end of the line or by two or more spaces.
struct OptionLine: Equatable {
    var long: String?
    var short: String?
    /// The value placeholder as printed ("<FILE>", "OUTPUT", "string", "[=<n>]"); nil for a switch.
    var valueName: String?
    /// The value may be left out (`--abbrev[=<n>]`, `--bin [<NAME>]`): pass it attached with `=`.
    var optionalValue = false
    /// `...` after the spelling or the value (clap, argparse), or a `[]` default (kubectl).
    var repeatable = false
    /// kubectl's `--name=default:` form: the default value printed in the head.
    var inlineDefault: String?
    /// Column where the spellings start.
    var indent: Int
    /// The description on the same line, if any.
    var description: String?
    /// Column where that description starts.
    var descriptionColumn: Int?

    /// Reads `text` (the whole line, tabs already expanded) as an option entry, or nil.
    static func parse(_ line: String) -> OptionLine? {
        let chars = Array(line)
        var i = 0
        while i < chars.count, chars[i] == " " { i += 1 }
        guard i < chars.count, chars[i] == "-" else { return nil }
        var entry = OptionLine(indent: i)

        while true {
            // A spelling.
            guard let (spelling, end) = readSpelling(chars, i) else { return nil }
            i = end
            if spelling.hasPrefix("--") || spelling.count > 2 {
                if entry.long == nil { entry.long = spelling }
            } else if entry.short == nil {
                entry.short = spelling
            }

            // An attached value: `--x=VALUE`, `--x[=VALUE]`, `-S[<keyid>]`, `--x...`.
            if i < chars.count, chars[i] == "[" {
                guard let close = matching(chars, i) else { return nil }
                var inner = String(chars[(i + 1)..<close])
                if inner.hasPrefix("=") { inner.removeFirst() }
                entry.valueName = "[=" + inner + "]"
                entry.optionalValue = true
                i = close + 1
            } else if i < chars.count, chars[i] == "=" {
                var j = i + 1
                while j < chars.count, chars[j] != " " { j += 1 }
                var value = String(chars[(i + 1)..<j])
                i = j
                if value.hasSuffix(":"), i == chars.count || onlySpaces(chars, i) {
                    // kubectl: `--output='':` / `--all=false:` / `--chunk-size=500:` / `--x=[]:`
                    value.removeLast()
                    entry.inlineDefault = value
                    if value == "false" || value == "true" {
                        entry.valueName = nil
                    } else {
                        entry.valueName = "VALUE"
                        if value == "[]" { entry.repeatable = true }
                    }
                } else {
                    if value.isEmpty { return nil }
                    entry.valueName = value
                }
            }
            if hasPrefix(chars, i, "...") {
                entry.repeatable = true
                i += 3
            }

            // A separate value: ` VALUE`, ` <VALUE>`, ` [<VALUE>]`, ` {a,b}`, ` string`.
            if entry.valueName == nil, entry.inlineDefault == nil, i + 1 < chars.count, chars[i] == " ",
               chars[i + 1] != " ", chars[i + 1] != "-", chars[i + 1] != "/", chars[i + 1] != "|" {
                var j = i + 1
                while j < chars.count, chars[j] != " " {
                    if chars[j] == ",", j + 1 < chars.count, chars[j + 1] == " " { break }
                    j += 1
                }
                var value = String(chars[(i + 1)..<j])
                if value.hasSuffix("...") {
                    entry.repeatable = true
                    value.removeLast(3)
                }
                guard isPlaceholder(value) else { return nil }
                if value.hasPrefix("["), value.hasSuffix("]"), !value.contains("|") {
                    entry.optionalValue = true
                }
                entry.valueName = value
                i = j
                if hasPrefix(chars, i, "...") {
                    entry.repeatable = true
                    i += 3
                }
            } else if entry.valueName != nil, i + 1 < chars.count, chars[i] == " ", chars[i + 1] != " ",
                      chars[i + 1] != "-", chars[i + 1] != "/" {
                // argparse repeats the value after each spelling: `-o OUTPUT, --output OUTPUT`.
                var j = i + 1
                while j < chars.count, chars[j] != " ", !(chars[j] == "," && j + 1 < chars.count && chars[j + 1] == " ") { j += 1 }
                let value = String(chars[(i + 1)..<j])
                guard isPlaceholder(value) else { return nil }
                i = j
            }

            // Another spelling of the same option?
            if hasPrefix(chars, i, ", -") {
                i += 2
                continue
            }
            if hasPrefix(chars, i, " / -") || hasPrefix(chars, i, " | -") {
                // Click's `--debug / --no-debug`: the second spelling is the negation; skip it.
                i += 3
                guard let (_, end) = readSpelling(chars, i) else { return nil }
                i = end
            }
            break
        }

        // The rest: nothing, or two or more spaces then the description.
        if i >= chars.count || onlySpaces(chars, i) { return entry }
        guard chars[i] == " ", i + 1 < chars.count, chars[i + 1] == " " else { return nil }
        var j = i
        while j < chars.count, chars[j] == " " { j += 1 }
        entry.description = String(chars[j...]).trimmingSpaces()
        entry.descriptionColumn = j
        return entry
    }

    /// `--name`, `--[no-]name`, `-x`, `-name` (Go's flag package, single-dash long).
    private static func readSpelling(_ chars: [Character], _ start: Int) -> (String, Int)? {
        var i = start
        guard i < chars.count, chars[i] == "-" else { return nil }
        var prefix = "-"
        i += 1
        if i < chars.count, chars[i] == "-" {
            prefix = "--"
            i += 1
            if hasPrefix(chars, i, "[no-]") { i += 5 }
        }
        let nameStart = i
        guard i < chars.count, isNameStart(chars[i]) || (prefix == "-" && (chars[i] == "?" || chars[i] == "#")) else { return nil }
        i += 1
        if prefix == "-" && (chars[nameStart] == "?" || chars[nameStart] == "#") {
            return (prefix + String(chars[nameStart]), i)
        }
        while i < chars.count, isNameChar(chars[i]) { i += 1 }
        let name = String(chars[nameStart..<i])
        guard !name.isEmpty else { return nil }
        // What follows a spelling: the end, a space, `=`, `[`, `,` or the `...` repeat marker.
        if i < chars.count, !" =[,".contains(chars[i]), !hasPrefix(chars, i, "...") { return nil }
        return (prefix + name, i)
    }

    /// Whether `value` looks like a value placeholder rather than a word of prose.
    private static func isPlaceholder(_ value: String) -> Bool {
        guard let first = value.first else { return false }
        if "<[{(".contains(first) { return true }
        if value.contains("<") || value.contains("=") { return true }
        let letters = value.filter { $0.isLetter }
        if !letters.isEmpty, letters.allSatisfy({ $0.isUppercase }) { return true }
        // pflag / Go flag type names and lowercase placeholders (`filter`, `commit`, `string`).
        return value.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ":" || $0 == "." }
    }

    private static func isNameStart(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber)
    }

    private static func isNameChar(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_")
    }

    private static func matching(_ chars: [Character], _ open: Int) -> Int? {
        var depth = 0
        var i = open
        while i < chars.count {
            if chars[i] == "[" { depth += 1 }
            if chars[i] == "]" {
                depth -= 1
                if depth == 0 { return i }
            }
            i += 1
        }
        return nil
    }

    static func hasPrefix(_ chars: [Character], _ at: Int, _ prefix: String) -> Bool {
        var i = at
        for c in prefix {
            guard i < chars.count, chars[i] == c else { return false }
            i += 1
        }
        return true
    }

    private static func onlySpaces(_ chars: [Character], _ from: Int) -> Bool {
        chars[from...].allSatisfy { $0 == " " }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
