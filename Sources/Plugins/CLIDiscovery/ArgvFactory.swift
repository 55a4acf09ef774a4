import Foundation

/// Turns a tool call's JSON arguments into an argv (see `ArgumentBuilder`).
enum ArgvFactory {
    /// How many allowed names an unknown-key error lists before "and N more".
    static let maxNamesInError = 40

    static func argv(for tool: ToolDefinition, arguments: [String: Any]) throws -> [String] {
        // Unknown keys first: never turned into a flag.
        let unknown = arguments.keys.filter { !($0 == "args" && tool.acceptsArgs) && tool.flags[$0] == nil }.sorted()
        if let key = unknown.first {
            throw ArgumentError(code: .unknownKey, message: unknownKeyMessage(key, tool: tool))
        }
        for property in requiredProperties(of: tool) where isAbsent(arguments[property]) {
            throw ArgumentError(code: .missingRequired,
                                message: "missing required argument '\(property)' for tool \(tool.name)")
        }

        var argv = tool.path + tool.fixedArgs
        for property in tool.flags.keys.sorted() {
            guard let spelling = tool.flags[property], let value = arguments[property], !isAbsent(value) else { continue }
            argv += try words(property: property, spelling: spelling, value: value, tool: tool)
        }
        if tool.acceptsArgs, let args = arguments["args"], !isAbsent(args) {
            if let text = args as? String {
                argv += try ShellWords.split(text)
            } else if let list = args as? [Any], let strings = stringArray(list) {
                argv += strings  // already split by the caller: taken word for word
            } else {
                throw ArgumentError(code: .wrongType,
                                    message: "argument 'args' of tool \(tool.name) must be a string (split like a shell command line), got \(typeName(args))")
            }
        }
        return argv
    }

    // MARK: One property

    private static func words(property: String, spelling: FlagSpelling, value: Any, tool: ToolDefinition) throws -> [String] {
        func wrongType(_ expected: String) -> ArgumentError {
            ArgumentError(code: .wrongType,
                          message: "argument '\(property)' of tool \(tool.name) must be \(expected), got \(typeName(value))")
        }
        if spelling.kind == .flag {
            guard let on = boolValue(value) else { throw wrongType("a boolean") }
            return on ? [spelling.spelling] : []
        }
        let items: [Any]
        if spelling.repeatable, let list = value as? [Any] {
            items = list
        } else {
            items = [value]
        }
        var out: [String] = []
        for item in items {
            guard let text = scalarText(item, kind: spelling.kind) else {
                let expected: String
                switch spelling.kind {
                case .integer: expected = "an integer"
                case .number: expected = "a number"
                default: expected = "a string"
                }
                throw wrongType(spelling.repeatable ? "\(expected) or an array of them" : expected)
            }
            out += spell(spelling.spelling, text)
        }
        return out
    }

    /// `-o value` (a short option whose value is required: the parser always takes the next
    /// word); a spelling ending in `=` takes the value attached, in one word, so no value can be
    /// read as another option: `--name=value` (an empty value stays `--name=`, never a bare
    /// `--name` that would take the next word), and for a short option `-Svalue` (getopt-style
    /// parsers read an `=` there as part of the value; an empty value gives a bare `-S`).
    private static func spell(_ spelling: String, _ value: String) -> [String] {
        if spelling.hasSuffix("=") {
            let bare = String(spelling.dropLast())
            let short = bare.count == 2 && bare.hasPrefix("-") && !bare.hasPrefix("--")
            if short { return [bare + value] }
            return [spelling + value]
        }
        return [spelling, value]
    }

    private static func scalarText(_ value: Any, kind: Option.Kind) -> String? {
        if boolValue(value) != nil { return nil }
        switch kind {
        case .flag:
            return nil
        case .string:
            if let s = value as? String { return s }
            return numberText(value, integerOnly: false)
        case .integer:
            return numberText(value, integerOnly: true)
        case .number:
            return numberText(value, integerOnly: false)
        }
    }

    private static func numberText(_ value: Any, integerOnly: Bool) -> String? {
        if let i = value as? Int { return String(i) }
        if let d = value as? Double {
            guard d.isFinite else { return nil }
            if d == d.rounded(), abs(d) < 9.0e15 { return String(Int64(d)) }
            return integerOnly ? nil : String(d)
        }
        if let n = value as? NSNumber {
            return numberText(n.doubleValue, integerOnly: integerOnly)
        }
        return nil
    }

    /// A JSON boolean, whether it arrives as a Swift `Bool` or as a boolean `NSNumber`
    /// (JSONSerialization gives `__NSCFBoolean` for `true`/`false`, plain `NSNumber` for numbers,
    /// and a plain `NSNumber` 1 also casts to `Bool`, so the cast alone cannot tell them apart).
    static func boolValue(_ value: Any) -> Bool? {
        if type(of: value) == Bool.self { return value as? Bool }
        if let n = value as? NSNumber, isBooleanNumber(n) { return n.boolValue }
        return nil
    }

    private static func isBooleanNumber(_ n: NSNumber) -> Bool {
        type(of: n) != NSNumber.self && String(cString: n.objCType) == "c"
    }

    // MARK: Helpers

    private static func isAbsent(_ value: Any?) -> Bool {
        guard let value else { return true }
        return value is NSNull
    }

    private static func stringArray(_ list: [Any]) -> [String]? {
        var out: [String] = []
        for item in list {
            guard let s = item as? String else { return nil }
            out.append(s)
        }
        return out
    }

    private static func requiredProperties(of tool: ToolDefinition) -> [String] {
        guard let data = tool.inputSchema.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let required = object["required"] as? [String] else { return [] }
        return required
    }

    private static func unknownKeyMessage(_ key: String, tool: ToolDefinition) -> String {
        let allowed = ((tool.acceptsArgs ? ["args"] : []) + tool.flags.keys).sorted()
        var list = allowed.prefix(maxNamesInError).joined(separator: ", ")
        if allowed.count > maxNamesInError { list += " and \(allowed.count - maxNamesInError) more" }
        return "unknown argument '\(key)' for tool \(tool.name); allowed: \(list)"
    }

    private static func typeName(_ value: Any) -> String {
        if boolValue(value) != nil { return "a boolean" }
        if value is String { return "a string" }
        if value is NSNumber || value is Int || value is Double { return "a number" }
        if value is [Any] { return "an array" }
        if value is [String: Any] { return "an object" }
        return "a value of type \(type(of: value))"
    }
}
