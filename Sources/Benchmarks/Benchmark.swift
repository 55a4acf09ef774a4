import BenchSupport
import Foundation

/// mcp-host-bench: the one benchmark of mcp-host (docs/benchmarks.md). Modes:
///
///     mcp-host-bench [stdio|http|floor|mix|scale|memory|all] [--json FILE] [--quick] [...]
///     mcp-host-bench markdown --results FILE --machine FILE --template FILE [--output FILE]
///
/// - stdio: tool calls direct vs. through the host (64 in flight, and one at a time), rounds
///   alternating, medians; host RSS and CPU per 1000 calls.
/// - http: 64 Streamable HTTP sessions (JSON answers, SSE answers) driven by mcp-bench-load, and
///   the framework floor (a Hummingbird route in this binary), rounds alternating; or `--url` to
///   drive a running endpoint.
/// - mix: B's latency while 200 two-second calls are in flight on A.
/// - scale: 1,000 sessions with GET streams, calls from all; fairness and RSS peak.
/// - memory: RSS with every bundled plugin, 10 backends and 100 idle sessions; per further idle
///   session; start-up to the first tools/list.
///
/// Each figure is a table row (metric, value, target, pass/fail) and a JSON line in `--json`.
/// `scripts/bench` runs `all` and regenerates docs/benchmarks.md with `markdown`.
@main
struct Benchmark {
    static func main() async {
        let options: BenchOptions
        do {
            options = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("mcp-host-bench: \(error)\n\(BenchOptions.usage)\n".utf8))
            exit(2)
        }
        signal(SIGPIPE, SIG_IGN)
        raiseFileLimit()
        do {
            if options.mode == .markdown {
                try writeMarkdown(options)
                return
            }
            let env = try BenchEnvironment()
            defer { env.cleanUp() }
            let reporter = try Reporter(jsonPath: options.jsonPath)
            var failures: [String] = []
            for mode in modes(options.mode) {
                do {
                    switch mode {
                    case .stdio: try await StdioBench(env: env, options: options, reporter: reporter).run()
                    case .http: try await HTTPBench(env: env, options: options, reporter: reporter).run()
                    case .floor: try await HTTPBench(env: env, options: options, reporter: reporter).runFloorOnly()
                    case .mix: try await MixBench(env: env, options: options, reporter: reporter).run()
                    case .scale: try await ScaleBench(env: env, options: options, reporter: reporter).run()
                    case .memory: try await MemoryBench(env: env, options: options, reporter: reporter).run()
                    case .all, .markdown: break
                    }
                } catch {
                    // One mode failing does not lose the others' figures; its targets show as missing.
                    log("\(mode.rawValue) failed: \(error)")
                    failures.append("\(mode.rawValue): \(error)")
                }
            }
            reporter.finish()
            if !failures.isEmpty {
                log("modes that failed:\n" + failures.joined(separator: "\n"))
                exit(1)
            }
        } catch {
            log("\(error)")
            exit(1)
        }
    }

    static func modes(_ mode: BenchOptions.Mode) -> [BenchOptions.Mode] {
        mode == .all ? [.stdio, .http, .mix, .scale, .memory] : [mode]
    }

    /// 1,000 sessions with GET streams are 2,000 sockets in the host and as many in the loader:
    /// the soft descriptor limit is raised to the hard one here, and the children inherit it.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    static func writeMarkdown(_ options: BenchOptions) throws {
        guard let resultsPath = options.resultsPath, let machinePath = options.machinePath, let templatePath = options.templatePath else {
            throw BenchError("markdown needs --results, --machine and --template")
        }
        let metrics = try MetricLine.decode(try String(contentsOfFile: resultsPath, encoding: .utf8))
        let machine = MarkdownReport.parseMachine(try String(contentsOfFile: machinePath, encoding: .utf8))
        let template = try String(contentsOfFile: templatePath, encoding: .utf8)
        let text = MarkdownReport.render(template: template, metrics: metrics, machine: machine,
                                         command: options.command ?? "scripts/bench")
        if let output = options.outputPath {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            print(text, terminator: "")
        }
    }
}
