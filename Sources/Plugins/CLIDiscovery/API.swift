// The interface between help-text discovery (this module: pure, no I/O, no processes) and the CLI
// transport plugin (which runs the help processes and the tools). Change it only by agreement
// (/tmp/cli-api-notes.md during development).

/// What one help text says about a command: its usage, a summary, its subcommands, options and
/// positional arguments. Produced by `HelpParser.parse`.
public struct HelpPage: Sendable, Equatable {
    /// The usage line(s), if any ("usage: git log [<options>] ...").
    public var usage: String?
    /// The first descriptive sentence, if any.
    public var summary: String?
    /// Subcommands in the order listed: name and one-line summary.
    public var subcommands: [Subcommand]
    public var options: [Option]
    public var positionals: [Positional]

    public init(usage: String? = nil, summary: String? = nil, subcommands: [Subcommand] = [],
                options: [Option] = [], positionals: [Positional] = []) {
        self.usage = usage
        self.summary = summary
        self.subcommands = subcommands
        self.options = options
        self.positionals = positionals
    }
}

public struct Subcommand: Sendable, Equatable {
    public var name: String
    public var summary: String

    public init(name: String, summary: String) {
        self.name = name
        self.summary = summary
    }
}

public struct Option: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case flag, string, integer, number }
    /// "--output" (original spelling, with dashes).
    public var long: String?
    /// "-o".
    public var short: String?
    /// The value placeholder as printed ("OUTPUT", "<FILE>", "string"); nil for a switch. A value
    /// that may be left out is written attached, "[=<n>]" (git's `--abbrev[=<n>]`, clap's
    /// `--bin [<NAME>]`); ToolBuilder then passes it as `--abbrev=VALUE`.
    public var valueName: String?
    public var kind: Kind
    public var required: Bool
    public var repeatable: Bool
    public var summary: String

    public init(long: String? = nil, short: String? = nil, valueName: String? = nil, kind: Kind = .flag,
                required: Bool = false, repeatable: Bool = false, summary: String = "") {
        self.long = long
        self.short = short
        self.valueName = valueName
        self.kind = kind
        self.required = required
        self.repeatable = repeatable
        self.summary = summary
    }
}

public struct Positional: Sendable, Equatable {
    public var name: String
    public var required: Bool
    public var summary: String

    public init(name: String, required: Bool, summary: String = "") {
        self.name = name
        self.required = required
        self.summary = summary
    }
}

/// Reads help text in the common styles (Cobra, Clap, Click, argparse, git's own, plain `usage:`).
public enum HelpParser {
    /// The page the text describes; nil when nothing in it is recognisable as help.
    public static func parse(_ text: String) -> HelpPage? {
        HelpTextParser.parse(text)
    }
}

/// One MCP tool: how it is listed (name, description, schema) and how a call becomes an argv.
public struct ToolDefinition: Sendable, Codable, Equatable {
    /// "git_log": command basename + "_" + path joined by "_", sanitized to [A-Za-z0-9_.-], ≤ 64 chars.
    public var name: String
    /// ["log"]: the subcommand words after the command.
    public var path: [String]
    public var description: String
    /// JSON object text (a JSON Schema of type "object").
    public var inputSchema: String
    /// Schema property name -> how to pass it on the command line. `args` is not in here.
    public var flags: [String: FlagSpelling]
    /// Preset tools' fixed args (config `tools`), else [].
    public var fixedArgs: [String]
    /// Whether the schema offers `args` (free-form words after the flags). Discovered tools do; a
    /// preset only when its inputSchema has an `args` property (or it has no inputSchema). A call
    /// passing `args` to a tool without it is refused as an unknown key.
    public var acceptsArgs: Bool

    public init(name: String, path: [String], description: String, inputSchema: String,
                flags: [String: FlagSpelling], fixedArgs: [String] = [], acceptsArgs: Bool = true) {
        self.name = name
        self.path = path
        self.description = description
        self.inputSchema = inputSchema
        self.flags = flags
        self.fixedArgs = fixedArgs
        self.acceptsArgs = acceptsArgs
    }

    private enum CodingKeys: String, CodingKey {
        case name, path, description, inputSchema, flags, fixedArgs, acceptsArgs
    }

    /// `acceptsArgs` absent (an entry written before it existed) reads as true.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        path = try container.decode([String].self, forKey: .path)
        description = try container.decode(String.self, forKey: .description)
        inputSchema = try container.decode(String.self, forKey: .inputSchema)
        flags = try container.decode([String: FlagSpelling].self, forKey: .flags)
        fixedArgs = try container.decode([String].self, forKey: .fixedArgs)
        acceptsArgs = try container.decodeIfPresent(Bool.self, forKey: .acceptsArgs) ?? true
    }
}

public struct FlagSpelling: Sendable, Codable, Equatable {
    /// "--output" or "-o": exactly what goes into the argv.
    public var spelling: String
    public var kind: Option.Kind
    public var repeatable: Bool

    public init(spelling: String, kind: Option.Kind, repeatable: Bool = false) {
        self.spelling = spelling
        self.kind = kind
        self.repeatable = repeatable
    }
}

public enum ToolBuilder {
    /// The tool for `command` (a name or path; its basename names the tool) at subcommand `path`.
    /// `page` nil: a tool taking only `args`. `summary` (e.g. the parent's one-line summary of this
    /// subcommand) is the description when the page has none.
    public static func tool(command: String, path: [String], page: HelpPage?, summary: String? = nil) -> ToolDefinition {
        ToolFactory.tool(command: command, path: path, page: page, summary: summary)
    }

    /// A tool name: `<command basename>[_<path joined by _>]`, sanitized to [A-Za-z0-9_.-], ≤ 64 chars.
    public static func toolName(command: String, path: [String]) -> String {
        ToolFactory.toolName(command: command, path: path)
    }
}

public enum ArgumentBuilder {
    /// The argv after the command (path words, fixed args, flags, then `args` split with shell quoting).
    /// Throws an `ArgumentError` for an unknown key, a wrong type, a missing required property, or
    /// unbalanced quotes.
    public static func argv(for tool: ToolDefinition, arguments: [String: Any]) throws -> [String] {
        try ArgvFactory.argv(for: tool, arguments: arguments)
    }
}

/// Why a tool call's arguments were refused. `message` says what was wrong and what is allowed; it
/// is meant to be shown to the caller (as a tool error or JSON-RPC invalid-params message).
public struct ArgumentError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unknownKey = "unknown_key"
        case wrongType = "wrong_type"
        case missingRequired = "missing_required"
        case unbalancedQuotes = "unbalanced_quotes"
    }
    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// POSIX shell word splitting (quotes and backslashes only; no expansion, no shell is run).
public enum ShellWords {
    /// The words of `text`: single quotes keep everything literally; double quotes keep everything
    /// except `\"`, `\\`, `\$`, `` \` `` and backslash-newline; a backslash outside quotes escapes
    /// the next character. Throws `ArgumentError` (`.unbalancedQuotes`) for an unclosed quote or a
    /// trailing backslash.
    public static func split(_ text: String) throws -> [String] {
        try ShellSplitter.split(text)
    }
}
