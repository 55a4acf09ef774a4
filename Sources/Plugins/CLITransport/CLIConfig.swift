import CLIDiscovery
import Foundation

/// The CLI transport's part of a server's configuration (the host has substituted `${VAR}`s),
/// every value checked. See docs/cli.md.
///
///     {"name": "git", "command": "git", "cli": true, "cli_only": ["log", "status"],
///      "timeout": "30s", "max_output": 1048576, "max_concurrent": 4}
struct CLIConfig: Sendable {
    struct Preset: Sendable {
        var name: String
        var args: [String]
        var description: String?
        /// JSON object text, or nil for the default (`args` only).
        var inputSchema: String?
        /// The schema's properties other than `args`, with their JSON types (become `--name` flags).
        var properties: [String: String]
        /// True when the tool takes `args`: no inputSchema (the default schema is `args` only), or
        /// one with an `args` property.
        var offersArgs = true
    }

    var name: String
    var command: String
    var help = "--help"
    var depth = 2
    var only: [String]?
    var presets: [Preset]?
    var args: [String] = []
    var env: [String: String] = [:]
    var cwd: String?
    var timeoutMs = 60_000
    var maxOutput = 1 << 20
    var maxConcurrent = 4
    /// The whole configuration as stable JSON text: part of the discovery cache key.
    var canonicalText: String
    /// Things worth a warning that do not stop the server.
    var warnings: [String] = []

    static let depthRange = 0...16
    static let timeoutRangeMs = 1...86_400_000
    static let maxOutputRange = 1...(256 << 20)
    static let maxConcurrentRange = 1...256
    static let knownKeys: Set<String> = ["name", "command", "cli", "cli_help", "cli_depth", "cli_only", "tools", "args", "env", "cwd",
                                         "timeout", "max_output", "max_concurrent", "transport", "type", "shutdownGraceMs", "disabled"]

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ key: String?, _ message: String) {
            description = (key.map { "\"\($0)\": " } ?? "") + message
        }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Invalid) -> CLIConfig {
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) } catch {
            throw Invalid(nil, "the configuration is not valid JSON: \(error)")
        }
        guard case .object(let entry) = root else { throw Invalid(nil, "the configuration must be a JSON object") }
        guard case .string(let command)? = entry["command"], !command.isEmpty else {
            throw Invalid("command", "must be a non-empty string (the program whose subcommands become tools)")
        }
        var name = command
        if case .string(let given)? = entry["name"] { name = given }
        var config = CLIConfig(name: name, command: command, canonicalText: root.jsonText)
        // Unknown keys may belong to the host (or a newer one): warned about, not refused.
        for key in entry.keys.sorted() where !knownKeys.contains(key) {
            config.warnings.append("\"\(key)\" is not a key of the cli transport (known: \(knownKeys.subtracting(["name", "transport", "type", "shutdownGraceMs", "disabled"]).sorted().joined(separator: ", "))); ignored")
        }

        if let value = entry["cli"], value != .bool(true) {
            throw Invalid("cli", "must be true (it selects this transport); got \(value.jsonText)")
        }
        if let value = entry["cli_help"] {
            guard case .string(let text) = value, !text.isEmpty, !text.contains(" ") else {
                throw Invalid("cli_help", "must be one non-empty argument such as \"--help\" or \"-h\"")
            }
            config.help = text
        }
        if let value = entry["cli_depth"] { config.depth = try integer(value, key: "cli_depth", range: depthRange, unit: "levels of subcommands") }
        if let value = entry["cli_only"] {
            let names = try strings(value, key: "cli_only")
            guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && !$0.contains(" ") }) else {
                throw Invalid("cli_only", "must be a non-empty array of subcommand names such as [\"log\", \"status\"]")
            }
            config.only = names
        }
        if let value = entry["args"] { config.args = try strings(value, key: "args") }
        if let value = entry["env"] {
            guard case .object(let members) = value else { throw Invalid("env", "must be an object of string values") }
            for (key, item) in members {
                guard case .string(let text) = item, !key.isEmpty, !key.contains("=") else {
                    throw Invalid("env", "\"\(key)\" must map to a string (and the name may not be empty or contain \"=\")")
                }
                config.env[key] = text
            }
        }
        if let value = entry["cwd"] {
            guard case .string(let text) = value, !text.isEmpty else { throw Invalid("cwd", "must be a non-empty string (a directory)") }
            config.cwd = text
        }
        if let value = entry["timeout"] { config.timeoutMs = try durationMs(value, key: "timeout") }
        if let value = entry["max_output"] { config.maxOutput = try integer(value, key: "max_output", range: maxOutputRange, unit: "bytes") }
        if let value = entry["max_concurrent"] { config.maxConcurrent = try integer(value, key: "max_concurrent", range: maxConcurrentRange, unit: "runs at once") }
        if let value = entry["tools"] { config.presets = try presets(value) }
        return config
    }

    // MARK: - Checks

    private static func integer(_ value: JSONValue, key: String, range: ClosedRange<Int>, unit: String) throws(Invalid) -> Int {
        guard case .integer(let number) = value else {
            throw Invalid(key, "must be a whole number (\(unit)) from \(range.lowerBound) to \(range.upperBound); got \(value.jsonText)")
        }
        guard range.contains(number) else {
            throw Invalid(key, "\(number) is out of range: give \(range.lowerBound) to \(range.upperBound) (\(unit))")
        }
        return number
    }

    private static func strings(_ value: JSONValue, key: String) throws(Invalid) -> [String] {
        guard case .array(let items) = value else { throw Invalid(key, "must be an array of strings; got \(value.typeName)") }
        var out: [String] = []
        for item in items {
            guard case .string(let text) = item else { throw Invalid(key, "must be an array of strings; found \(item.jsonText)") }
            out.append(text)
        }
        return out
    }

    /// A duration: "60s", "1500ms", "2m", "1h", or a bare number of seconds (string or JSON number).
    static func durationMs(_ value: JSONValue, key: String) throws(Invalid) -> Int {
        let help = "a duration such as \"60s\", \"1500ms\" or \"2m\" (a bare number is seconds), from 1ms to 24h"
        let milliseconds: Double
        switch value {
        case .integer(let seconds): milliseconds = Double(seconds) * 1000
        case .number(let seconds): milliseconds = seconds * 1000
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
            var parsed: Double?
            for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
                let digits = trimmed.dropLast(suffix.count)
                if let number = Double(digits), !digits.isEmpty, digits.allSatisfy({ $0.isNumber || $0 == "." }) { parsed = number * factor }
                break
            }
            if parsed == nil, let number = Double(trimmed), trimmed.allSatisfy({ $0.isNumber || $0 == "." }) { parsed = number * 1000 }
            guard let parsed else { throw Invalid(key, "\"\(text)\" is not \(help)") }
            milliseconds = parsed
        default:
            throw Invalid(key, "must be \(help); got \(value.jsonText)")
        }
        // Compared as Double before converting, so no value can trap the conversion.
        guard milliseconds.isFinite, milliseconds >= 1, milliseconds <= Double(timeoutRangeMs.upperBound) else {
            throw Invalid(key, "\(value.jsonText) is out of range: give \(help)")
        }
        return Int(milliseconds.rounded())
    }

    private static func presets(_ value: JSONValue) throws(Invalid) -> [Preset] {
        guard case .array(let items) = value, !items.isEmpty else {
            throw Invalid("tools", "must be a non-empty array of {\"name\", \"args\", \"description\", \"inputSchema\"} objects")
        }
        var out: [Preset] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let key = "tools[\(index)]"
            guard case .object(let members) = item else { throw Invalid(key, "must be an object with \"name\"") }
            for member in members.keys.sorted() where !["name", "args", "description", "inputSchema"].contains(member) {
                throw Invalid("\(key).\(member)", "unknown key; a preset tool has name, args, description and inputSchema")
            }
            guard case .string(let name)? = members["name"], (1...64).contains(name.utf8.count),
                  name.utf8.allSatisfy({ isNameByte($0) }) else {
                throw Invalid("\(key).name", "must be a tool name of 1-64 characters from [A-Za-z0-9_.-]")
            }
            guard seen.insert(name).inserted else { throw Invalid("\(key).name", "\"\(name)\" is given twice") }
            var preset = Preset(name: name, args: [], description: nil, inputSchema: nil, properties: [:])
            if let args = members["args"] { preset.args = try strings(args, key: "\(key).args") }
            if let description = members["description"] {
                guard case .string(let text) = description else { throw Invalid("\(key).description", "must be a string") }
                preset.description = text
            }
            if let schema = members["inputSchema"] {
                guard case .object(let fields) = schema else { throw Invalid("\(key).inputSchema", "must be a JSON Schema object") }
                if let type = fields["type"], type != .string("object") { throw Invalid("\(key).inputSchema", "\"type\" must be \"object\"") }
                if let properties = fields["properties"] {
                    guard case .object(let props) = properties else { throw Invalid("\(key).inputSchema", "\"properties\" must be an object") }
                    preset.offersArgs = props["args"] != nil
                    for (property, definition) in props where property != "args" {
                        guard !property.isEmpty, property.utf8.allSatisfy({ isNameByte($0) }) else {
                            throw Invalid("\(key).inputSchema", "property \"\(property)\" must use [A-Za-z0-9_.-] (it becomes --\(property))")
                        }
                        var type = "string"
                        if case .object(let def) = definition, case .string(let given)? = def["type"] { type = given }
                        guard ["string", "boolean", "integer", "number"].contains(type) else {
                            throw Invalid("\(key).inputSchema", "property \"\(property)\" has type \"\(type)\"; a flag is a string, boolean, integer or number")
                        }
                        preset.properties[property] = type
                    }
                }
                if fields["properties"] == nil { preset.offersArgs = false }
                preset.inputSchema = schema.jsonText
            }
            out.append(preset)
        }
        return out
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
