/// Builds tool definitions from help pages (see `ToolBuilder`).
enum ToolFactory {
    /// Longest tool name MCP clients commonly accept.
    static let maxNameLength = 64
    /// Longest description kept; the rest is cut with "…" (help texts can be long).
    static let maxDescriptionLength = 2_000
    /// Longest per-property description kept.
    static let maxPropertyDescriptionLength = 400

    static func toolName(command: String, path: [String]) -> String {
        let base = command.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? command
        let raw = ([base] + path).joined(separator: "_")
        var name = String(String.UnicodeScalarView(raw.unicodeScalars.map { isNameScalar($0) ? $0 : "_" }))
        if name.isEmpty { name = "tool" }
        if name.unicodeScalars.count > maxNameLength {
            // Keep names distinct after cutting: a short hash of the full name as suffix.
            let suffix = "_" + hex8(fnv1a(raw))
            name = String(String.UnicodeScalarView(name.unicodeScalars.prefix(maxNameLength - suffix.count))) + suffix
        }
        return name
    }

    static func tool(command: String, path: [String], page: HelpPage?, summary: String?) -> ToolDefinition {
        let name = toolName(command: command, path: path)
        let invocation = ([baseName(command)] + path).joined(separator: " ")
        var description = nonEmpty(page?.summary) ?? nonEmpty(summary) ?? "Run `\(invocation)`."
        if let usage = nonEmpty(page?.usage) {
            description += "\n\n" + usage
        }
        description = clip(description, maxDescriptionLength)

        var properties: [(String, String)] = []  // (name, schema JSON), in help order
        var required: [String] = []
        var flags: [String: FlagSpelling] = [:]
        var used: Set<String> = ["args"]

        for option in page?.options ?? [] {
            guard let base = option.long ?? option.short else { continue }
            if isHiddenOption(option) { continue }
            var property = propertyName(for: base)
            let spelling = argvSpelling(option, base)
            if property.isEmpty { continue }
            if used.contains(property) {
                // The same option listed twice keeps its first entry; a different option whose name
                // collides (e.g. `--args`) gets a suffix.
                if flags[property].map({ $0.spelling == base || $0.spelling == base + "=" }) == true { continue }
                property += "_opt"
                if used.contains(property) { continue }
            }
            used.insert(property)
            flags[property] = FlagSpelling(spelling: spelling, kind: option.kind, repeatable: option.repeatable)
            properties.append((property, optionSchema(option)))
            if option.required { required.append(property) }
        }

        properties.append(("args", argsSchema(page)))

        var json = "{\"type\":\"object\",\"properties\":{"
        json += properties.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",")
        json += "}"
        if !required.isEmpty {
            json += ",\"required\":[" + required.map(jsonString).joined(separator: ",") + "]"
        }
        json += ",\"additionalProperties\":false}"
        return ToolDefinition(name: name, path: path, description: description, inputSchema: json, flags: flags)
    }

    /// What goes into the argv for `option` (spelled `base`), chosen so that a value can never be
    /// read as another option (a value like `--output=x` must not become a flag the schema never
    /// offered). A spelling ending in `=` tells ArgumentBuilder to attach the value to it as one word.
    /// - switches: `base`.
    /// - `--long` valued options: `--long=`, value attached (`--name=VALUE`). Every supported
    ///   parser (getopt_long, argparse, Click, clap, pflag, git) reads `--name=VALUE`, and if the
    ///   option is really a switch the help was misread for, the tool refuses `--verbose=x`
    ///   instead of reading `x` as a further option.
    /// - short-only (or single-dash long) options whose value is optional (`-S[<keyid>]`): `-S=`,
    ///   attached too: parsers take an optional value only when attached, so `-S VALUE` would
    ///   leave VALUE to be read as an option of its own.
    /// - other short-only and single-dash long valued options (`-o FILE`, Go's `-name string`):
    ///   `base`, value as the next word, which those parsers always take as the value (Go's flag
    ///   package does not read `-oVALUE`).
    static func argvSpelling(_ option: Option, _ base: String) -> String {
        guard option.kind != .flag else { return base }
        if base.hasPrefix("--") { return base + "=" }
        if option.valueName?.hasPrefix("[=") == true { return base + "=" }
        return base
    }

    /// `--dry-run` -> `dry_run`, `-v` -> `v`; anything outside [A-Za-z0-9_] becomes `_`.
    static func propertyName(for spelling: String) -> String {
        var scalars = Substring(spelling).unicodeScalars.drop { $0 == "-" }
        if let eq = scalars.firstIndex(of: "=") { scalars = scalars[..<eq] }
        let mapped = scalars.map { s -> Unicode.Scalar in
            (isASCIILetter(s) || ("0"..."9").contains(s) || s == "_") ? s : "_"
        }
        return String(String.UnicodeScalarView(mapped))
    }

    // MARK: Schema pieces

    private static func optionSchema(_ option: Option) -> String {
        let type: String
        switch option.kind {
        case .flag: type = "boolean"
        case .string: type = "string"
        case .integer: type = "integer"
        case .number: type = "number"
        }
        var text = option.summary
        if let value = option.valueName, option.kind != .flag {
            text = text.isEmpty ? value : "\(value): \(text)"
        }
        let spellings = [option.short, option.long].compactMap { $0 }.joined(separator: ", ")
        text = clip(text.isEmpty ? spellings : "\(text) (\(spellings))", maxPropertyDescriptionLength)
        var item = "\"type\":\"\(type)\""
        if option.kind == .string, let choices = choices(option) {
            item += ",\"enum\":[" + choices.map(jsonString).joined(separator: ",") + "]"
        }
        if option.repeatable && option.kind != .flag {
            return "{\"type\":\"array\",\"items\":{\(item)},\"description\":\(jsonString(text + "; repeatable"))}"
        }
        return "{\(item),\"description\":\(jsonString(text))}"
    }

    /// The values a string option is limited to, when the help lists them: clap's
    /// `[possible values: a, b]`, argparse's `{a,b}` and Click's `[a|b]` placeholders.
    static func choices(_ option: Option) -> [String]? {
        func list(_ text: Substring, _ separator: Character) -> [String]? {
            let items = text.split(separator: separator, omittingEmptySubsequences: false).map { String($0).trimmingSpaces() }
            guard items.count >= 2, items.allSatisfy({ !$0.isEmpty && !$0.contains(" ") && !$0.contains("<") }) else { return nil }
            return items
        }
        if let value = option.valueName {
            if value.hasPrefix("{"), value.hasSuffix("}") { return list(value.dropFirst().dropLast(), ",") }
            if value.hasPrefix("["), value.hasSuffix("]"), value.contains("|") {  // `[a|b]`, git's `[=a|b]`
                let inner = value.dropFirst(value.hasPrefix("[=") ? 2 : 1).dropLast()
                return list(inner, "|")
            }
        }
        let marker = "[possible values: "
        if let start = option.summary.range(of: marker),
           let end = option.summary[start.upperBound...].firstIndex(of: "]") {
            return list(option.summary[start.upperBound..<end], ",")
        }
        return nil
    }

    private static func argsSchema(_ page: HelpPage?) -> String {
        var text = "Positional arguments and any further command-line words, split like a POSIX shell (quotes and backslashes; nothing is expanded)."
        let positionals = page?.positionals ?? []
        if !positionals.isEmpty {
            let list = positionals.map { p -> String in
                var item = p.required ? p.name : "[\(p.name)]"
                if !p.summary.isEmpty { item += ": " + p.summary }
                return item
            }.joined(separator: "; ")
            text += " Expected: " + list
        }
        return "{\"type\":\"string\",\"description\":\(jsonString(clip(text, maxPropertyDescriptionLength)))}"
    }

    /// Help and version switches are not exposed: they print text instead of doing the work.
    private static func isHiddenOption(_ option: Option) -> Bool {
        let hidden: Set<String> = ["--help", "-h", "--version", "-V", "--help-all", "-?"]
        if let long = option.long { return hidden.contains(long) }
        if let short = option.short { return short == "-h" || short == "-?" }
        return false
    }

    // MARK: Helpers

    static func baseName(_ command: String) -> String {
        command.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? command
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }

    static func clip(_ s: String, _ limit: Int) -> String {
        guard s.count > limit else { return s }
        return String(s.prefix(max(0, limit - 1))) + "…"
    }

    private static func isNameScalar(_ s: Unicode.Scalar) -> Bool {
        isASCIILetter(s) || ("0"..."9").contains(s) || s == "_" || s == "." || s == "-"
    }

    private static func isASCIILetter(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s)
    }

    /// JSON string literal with the escapes RFC 8259 requires.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + hex2(UInt8(truncatingIfNeeded: scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func fnv1a(_ s: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in s.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }

    private static func hex8(_ v: UInt32) -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<8).reversed().map { digits[Int((v >> (UInt32($0) * 4)) & 0xF)] })
    }

    private static func hex2(_ v: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(v >> 4)], digits[Int(v & 0xF)]])
    }
}
