/// What an option's placeholder and description say about its type, whether it is required and
/// whether it may be given more than once.
enum OptionTraits {
    private static let integerNames: Set<String> = [
        "N", "NUM", "INT", "INTEGER", "UINT",
        "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "n",
    ]
    private static let numberNames: Set<String> = [
        "FLOAT", "NUMBER", "DECIMAL", "REAL", "DOUBLE", "float", "float32", "float64", "number",
    ]
    private static let integerListNames: Set<String> = ["ints", "int32Slice", "int64Slice", "uints", "uintSlice"]
    private static let numberListNames: Set<String> = ["float32Slice", "float64Slice"]
    private static let stringListNames: Set<String> = [
        "strings", "stringArray", "stringSlice", "stringToString", "stringToInt", "list", "durationSlice", "boolSlice",
    ]
    /// Placeholders that name a text type explicitly: a default printed next to them does not make
    /// them numbers.
    private static let textNames: Set<String> = [
        "TEXT", "STRING", "PATH", "FILE", "FILENAME", "DIR", "DIRECTORY", "string", "duration", "bytes", "ip", "ipNet",
    ]

    /// The kind of a valued option from its placeholder, then from hints in its description
    /// (`(int)`, `(default: 3)`, `[default: 0.5]`).
    static func kind(valueName: String?, description: String) -> Option.Kind {
        guard let valueName else { return .flag }
        let core = coreName(valueName)
        // pflag's counter (`-v, --verbose count`) is given bare, once per step.
        if core == "count" { return .flag }
        if integerNames.contains(core) || integerListNames.contains(core) { return .integer }
        if numberNames.contains(core) || numberListNames.contains(core) { return .number }
        let lower = description.lowercased()
        if lower.contains("(int)") || lower.contains("(integer)") { return .integer }
        if lower.contains("(float)") || lower.contains("(number)") { return .number }
        // A choice list or an explicit text type stays a string.
        if valueName.hasPrefix("{") || valueName.contains("|") || valueName.contains(",") { return .string }
        if textNames.contains(core) || stringListNames.contains(core) { return .string }
        // A generic placeholder (argparse's COUNT, clap's <PORT>) with a numeric default.
        if core.first?.isUppercase == true, let value = defaultValue(in: description) {
            if isInteger(value) { return .integer }
            if isDecimal(value) { return .number }
        }
        return .string
    }

    /// Whether the placeholder or description marks the option repeatable.
    static func isRepeatable(valueName: String?, description: String) -> Bool {
        if let valueName {
            let core = coreName(valueName)
            if stringListNames.contains(core) || integerListNames.contains(core) || numberListNames.contains(core) { return true }
        }
        let lower = description.lowercased()
        let phrases = [
            "can be repeated", "may be repeated", "can be given multiple times", "may be given multiple times",
            "can be specified multiple times", "may be specified multiple times", "can be used multiple times",
            "may be used multiple times", "can be passed multiple times", "may be passed multiple times",
            "(repeatable)", "[repeatable]", "can be specified more than once", "may be specified more than once",
        ]
        return phrases.contains { lower.contains($0) }
    }

    /// Whether the description marks the option required (`[required]`, `(required)`, "Required.").
    static func isRequired(description: String) -> Bool {
        let lower = description.lowercased()
        if lower.contains("[required]") || lower.contains("(required)") { return true }
        return lower.hasPrefix("required.") || lower.hasPrefix("required:") || lower.hasPrefix("(required")
    }

    /// `<FILE>` -> `FILE`, `[=<n>]` -> `n`, `[-]NUM` -> `NUM`, `int` -> `int`.
    static func coreName(_ valueName: String) -> String {
        var s = Substring(valueName)
        if s.hasPrefix("[=") { s = s.dropFirst(2) }
        if s.hasSuffix("...") { s = s.dropLast(3) }
        s = Substring(s.drop { "[]<>=-".contains($0) })
        while let last = s.last, "[]<>.".contains(last) { s.removeLast() }
        if let lt = s.lastIndex(of: "<") { s = s[s.index(after: lt)...] }
        if let gt = s.firstIndex(of: ">") { s = s[..<gt] }
        return String(s)
    }

    /// The value of `(default: X)`, `[default: X]`, `(default X)` in a description.
    static func defaultValue(in description: String) -> String? {
        let lower = description.lowercased()
        for marker in ["default: ", "default "] {
            var searchStart = lower.startIndex
            while let range = lower.range(of: marker, range: searchStart..<lower.endIndex) {
                searchStart = range.upperBound
                // Only inside brackets: "(default: 3)" / "[default: 1]".
                let before = lower[..<range.lowerBound]
                guard before.hasSuffix("(") || before.hasSuffix("[") else { continue }
                let offset = lower.distance(from: lower.startIndex, to: range.upperBound)
                let rest = description[description.index(description.startIndex, offsetBy: offset)...]
                let value = rest.prefix { $0 != ")" && $0 != "]" && $0 != " " && $0 != "," }
                if !value.isEmpty { return String(value) }
            }
        }
        return nil
    }

    static func isInteger(_ s: String) -> Bool {
        var digits = Substring(s)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.count <= 18 && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    static func isDecimal(_ s: String) -> Bool {
        var body = Substring(s)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty || !parts[1].isEmpty else { return false }
        return parts.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}
