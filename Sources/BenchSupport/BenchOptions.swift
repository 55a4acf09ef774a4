/// The command line of `mcp-host-bench`:
///
///     mcp-host-bench [stdio|http|floor|mix|scale|memory|all] [--json FILE] [--quick] [options]
///     mcp-host-bench markdown --results FILE --machine FILE --template FILE [--output FILE] [--command TEXT]
///
/// Parsing is pure so that it is unit-tested; every number is range-checked (a bad one is a usage
/// error naming the flag and the accepted range).
public struct BenchOptions: Equatable, Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case stdio, http, floor, mix, scale, memory, all, markdown
    }

    public var mode: Mode = .all
    /// Append one JSON line per metric to this file (created or truncated at the start).
    public var jsonPath: String?
    /// Shorter runs, for a smoke run of about a minute.
    public var quick = false

    // stdio
    /// Calls per stdio run (pipelined window); nil: 50,000 (quick 5,000).
    public var calls: Int?
    /// Only this window (default: both 64 and 1).
    public var window: Int?
    /// Rounds per comparison; nil: 3 (quick 1).
    public var rounds: Int?
    /// `echo` (mcp-bench-echo, C) or `example` (the Swift SDK example server).
    public var backend = "echo"

    // HTTP
    /// Seconds per HTTP run; nil: 5 (quick 2).
    public var duration: Double?
    /// Sessions of the http/mix runs; nil: 64.
    public var sessions: Int?
    /// Sessions of the scale run; nil: 1000 (quick 200).
    public var scaleSessions: Int?
    /// Drive this running endpoint instead of starting a host (http mode only).
    public var url: String?
    public var tool: String?
    public var arguments: String?
    public var sse = false
    public var bearer: String?

    /// The plugin directory as shipped (memory mode); nil: `plugins.d` found from the working
    /// directory or the binary's.
    public var pluginsDirectory: String?

    // markdown
    public var resultsPath: String?
    public var machinePath: String?
    public var templatePath: String?
    public var outputPath: String?
    public var command: String?

    public init() {}

    public static let usage = """
        usage: mcp-host-bench [stdio|http|floor|mix|scale|memory|all] [--json FILE] [--quick]
                 [--calls N] [--window W] [--rounds R] [--backend echo|example]          (stdio)
                 [--duration S] [--sessions N] [--scale-sessions N] [--plugins DIR]       (http, mix, scale, memory)
                 [--url URL --tool NAME [--arguments JSON] [--sse] [--bearer TOKEN]]     (http against a running endpoint)
               mcp-host-bench markdown --results FILE --machine FILE --template FILE [--output FILE] [--command TEXT]
        """

    public static func parse(_ arguments: [String]) throws -> BenchOptions {
        var options = BenchOptions()
        var rest = arguments[...]
        if let first = rest.first, !first.hasPrefix("-") {
            guard let mode = Mode(rawValue: first) else {
                throw BenchError("unknown mode \(first.debugDescription); use one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            options.mode = mode
            rest = rest.dropFirst()
        }
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
            return next
        }
        func integer(_ flag: String, _ range: ClosedRange<Int>) throws -> Int {
            let text = try value(flag)
            guard let number = Int(text), range.contains(number) else {
                throw BenchError("\(flag) \(text.debugDescription): expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        func seconds(_ flag: String) throws -> Double {
            let text = try value(flag)
            guard let number = Double(text), number.isFinite, number > 0, number <= 3600 else {
                throw BenchError("\(flag) \(text.debugDescription): expected seconds, more than 0 and at most 3600")
            }
            return number
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--json": options.jsonPath = try value(flag)
            case "--quick": options.quick = true
            case "--calls": options.calls = try integer(flag, 1...10_000_000)
            case "--window": options.window = try integer(flag, 1...4096)
            case "--rounds": options.rounds = try integer(flag, 1...100)
            case "--backend":
                let name = try value(flag)
                guard ["echo", "example"].contains(name) else { throw BenchError("--backend \(name.debugDescription): use echo or example") }
                options.backend = name
            case "--duration": options.duration = try seconds(flag)
            case "--sessions": options.sessions = try integer(flag, 1...100_000)
            case "--scale-sessions": options.scaleSessions = try integer(flag, 1...100_000)
            case "--url": options.url = try value(flag)
            case "--tool": options.tool = try value(flag)
            case "--arguments": options.arguments = try value(flag)
            case "--sse": options.sse = true
            case "--bearer": options.bearer = try value(flag)
            case "--plugins": options.pluginsDirectory = try value(flag)
            case "--results": options.resultsPath = try value(flag)
            case "--machine": options.machinePath = try value(flag)
            case "--template": options.templatePath = try value(flag)
            case "--output": options.outputPath = try value(flag)
            case "--command": options.command = try value(flag)
            default: throw BenchError("unknown option \(flag.debugDescription)")
            }
        }
        if options.url != nil && options.tool == nil {
            throw BenchError("--url needs --tool: the tool to call on that endpoint")
        }
        if options.url != nil && options.mode != .http {
            throw BenchError("--url drives a running endpoint in the http mode only")
        }
        if options.mode == .markdown && (options.resultsPath == nil || options.machinePath == nil || options.templatePath == nil) {
            throw BenchError("markdown needs --results, --machine and --template")
        }
        return options
    }

    // Effective values (quick shortens everything).
    public var effectiveCalls: Int { calls ?? (quick ? 5_000 : 50_000) }
    public var effectiveRounds: Int { rounds ?? (quick ? 1 : 3) }
    public var effectiveDuration: Double { duration ?? (quick ? 2 : 5) }
    public var effectiveSessions: Int { sessions ?? 64 }
    public var effectiveScaleSessions: Int { scaleSessions ?? (quick ? 200 : 1000) }
}
