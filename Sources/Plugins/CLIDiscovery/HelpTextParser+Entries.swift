/// Entry shapes and finishing touches of `HelpTextParser.Reader`: pure functions of one line or
/// one finished entry.
extension HelpTextParser.Reader {
    /// `  name[, alias...]  Summary` (or just the name, when not strict).
    static func commandEntry(_ line: HelpLine, strict: Bool) -> (String, String, Int?)? {
        let chars = Array(line.raw)
        var i = line.indent
        let start = i
        while i < chars.count, chars[i] != " ", chars[i] != "," { i += 1 }
        let name = String(chars[start..<i])
        guard isCommandName(name, strict: strict) else { return nil }
        if !strict {
            // Aliases: `build, b`.
            while OptionLine.hasPrefix(chars, i, ", ") {
                var j = i + 2
                let aliasStart = j
                while j < chars.count, chars[j] != " ", chars[j] != "," { j += 1 }
                guard isCommandName(String(chars[aliasStart..<j]), strict: false) else { return nil }
                i = j
            }
        }
        if i >= chars.count { return strict ? nil : (name, "", nil) }
        guard OptionLine.hasPrefix(chars, i, "  ") else { return nil }
        while i < chars.count, chars[i] == " " { i += 1 }
        let summary = String(chars[i...]).trimmingSpaces()
        if strict, summary.first.map({ $0.isLetter || $0.isNumber }) != true { return nil }
        return (name, summary, i)
    }

    static func isCommandName(_ name: String, strict: Bool) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count <= 64 else { return false }
        if strict, !first.isLowercase { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:+".contains($0)) }
            && !name.hasSuffix(".") && !name.hasSuffix(":")
    }

    /// `  NAME  Summary`, `  <FILE>  ...`, `  [TOOLCHAIN]...  ...`.
    static func positionalEntry(_ line: HelpLine) -> (String, String, Int?)? {
        let chars = Array(line.raw)
        var i = line.indent
        let start = i
        while i < chars.count, chars[i] != " " { i += 1 }
        let name = String(chars[start..<i])
        guard let first = name.first, first.isLetter || first.isNumber || "<[+".contains(first) else { return nil }
        if i >= chars.count { return (name, "", nil) }
        guard OptionLine.hasPrefix(chars, i, "  ") else { return nil }
        while i < chars.count, chars[i] == " " { i += 1 }
        return (name, String(chars[i...]).trimmingSpaces(), i)
    }

    static func isVersionLine(_ line: String) -> Bool {
        let words = line.split(separator: " ")
        guard words.count >= 2, words.count <= 8 else { return false }
        let candidate = words[1].hasPrefix("v") ? words[1].dropFirst() : words[1][...]
        return candidate.first?.isNumber == true && candidate.contains(".")
            || line.lowercased().contains(" version ")
    }

    static func firstSentence(_ text: String) -> String {
        let collapsed = text.split(separator: " ").joined(separator: " ")
        var result = collapsed
        var searchStart = collapsed.startIndex
        while let range = collapsed.range(of: ". ", range: searchStart..<collapsed.endIndex) {
            let before = collapsed[..<range.lowerBound]
            let lastWord = before.split(separator: " ").last.map { $0.lowercased() } ?? ""
            if ["e.g", "i.e", "etc", "vs", "cf", "approx"].contains(lastWord) {
                searchStart = range.upperBound
                continue
            }
            result = String(collapsed[..<collapsed.index(after: range.lowerBound)])
            break
        }
        return ToolFactory.clip(result, 400)
    }

    static func option(from line: OptionLine, description: String, requiredSpellings: Set<String>) -> Option {
        var kind = OptionTraits.kind(valueName: line.valueName, description: description)
        var repeatable = line.repeatable || OptionTraits.isRepeatable(valueName: line.valueName, description: description)
        if let value = line.inlineDefault {
            // kubectl prints the default in the head: `--all=false:`, `--chunk-size=500:`, `--x=[]:`.
            if value == "false" || value == "true" {
                kind = .flag
            } else if OptionTraits.isInteger(value) {
                kind = .integer
            } else if OptionTraits.isDecimal(value) {
                kind = .number
            } else {
                kind = .string
            }
            if value == "[]" { repeatable = true }
        }
        let required = OptionTraits.isRequired(description: description)
            || [line.long, line.short].contains { $0.map(requiredSpellings.contains) ?? false }
        var valueName = kind == .flag ? nil : line.valueName
        if line.optionalValue, let value = valueName, !value.hasPrefix("[=") {
            // `--bin [<NAME>]`: normalised to the attached form, which says "optional" to ToolBuilder.
            valueName = "[=" + value.dropFirst().dropLast() + "]"
        }
        return Option(long: line.long, short: line.short, valueName: valueName,
                      kind: kind, required: required && kind != .flag, repeatable: repeatable, summary: description)
    }

    static func positional(_ raw: String, summary: String, usage: UsageLine?) -> Positional? {
        var name = raw
        if name.hasSuffix("...") { name.removeLast(3) }
        let bracketed = name.hasPrefix("[")
        let angled = name.hasPrefix("<")
        name = String(name.filter { !"<>[]".contains($0) })
        guard !name.isEmpty, !name.hasPrefix("{") else { return nil }
        let required: Bool
        if bracketed {
            required = false
        } else if angled {
            required = true
        } else {
            required = usage?.positionals.first { $0.name == name }?.required ?? true
        }
        return Positional(name: name, required: required, summary: summary)
    }
}
