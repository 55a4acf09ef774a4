#if canImport(Glibc)
import Glibc
#endif
import Host
import Logging
import PluginAPI

/// What to validate, and how.
public struct ValidatorOptions: Sendable {
    /// The plugin library.
    public var file: String
    /// The JSON object handed to the transport's `open` (e.g. a stdio command); nil: the checks
    /// that need a live connection are skipped.
    public var connectionConfig: [UInt8]?
    /// How long to wait for OPENED and for answers, in seconds.
    public var timeout: Double
    /// The mcp-host executable, run again for the probes (`validate-plugin FILE --probe KIND`).
    public var executable: String
    /// Let a probe process that crashes print the Swift runtime's backtrace (noisy, but it names
    /// the plugin's function that crashed).
    public var backtraces: Bool

    public init(file: String, connectionConfig: [UInt8]? = nil, timeout: Double = 30, executable: String = "/proc/self/exe",
                backtraces: Bool = false) {
        self.file = file
        self.connectionConfig = connectionConfig
        self.timeout = timeout
        self.executable = executable
        self.backtraces = backtraces
    }
}

/// `mcp-host validate-plugin`: loads one plugin library the way the host does and runs the
/// conformance suite against it, like CLAP's clap-validator for audio plugins.
///
/// In order: the host's own loader on it (in a child process, first: a library that crashes or
/// hangs while it is loaded and initialised there is not loaded here at all), the library and
/// its descriptor (no plugin code but the entry function runs), the exported symbols (read from
/// the ELF file), an ABI 1.0 host with a poisoned tail (in another child process: a plugin that reads past a
/// declared `struct_size` crashes there, not here), then `init` in this process with a host of
/// this header's size, the interface tables, the transport checks (with `--connection-config`),
/// the router checks, and `deinit`.
///
/// Every call into the plugin that must not block runs under a watchdog (`PluginCallRunner`): a
/// plugin that blocks in `send` or `route` is a failed check naming the function. A plugin that
/// crashes this process cannot be contained (it shares the address space, as in the host).
public struct PluginValidator {
    public let options: ValidatorOptions
    public let logger: Logger

    public init(options: ValidatorOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs the suite. `onCheck` sees each result as it is decided (for a streaming report),
    /// `onPlugin` the descriptor's summary once it was read. Call it from a thread of its own
    /// (never Swift's concurrency pool: Swift plugins need that pool while calls wait here).
    public func run(onPlugin: (PluginSummary) -> Void = { _ in }, onCheck: @escaping (CheckResult) -> Void = { _ in }) -> ValidationReport {
        signal(SIGPIPE, SIG_IGN) // as the host: plugins may write to pipes whose reader is gone
        let run = ValidationRun(options: options, logger: logger, onCheck: onCheck)
        run.execute(onPlugin: onPlugin)
        return run.report
    }
}

/// One run of the suite: the report as it grows, and the plugin's state once initialised.
private final class ValidationRun {
    let options: ValidatorOptions
    let logger: Logger
    let onCheck: (CheckResult) -> Void
    var report: ValidationReport
    let runner = PluginCallRunner()
    let logs = PluginLogSink()

    init(options: ValidatorOptions, logger: Logger, onCheck: @escaping (CheckResult) -> Void) {
        self.options = options
        self.logger = logger
        self.onCheck = onCheck
        report = ValidationReport(file: options.file)
    }

    func record(_ result: CheckResult) {
        report.checks.append(result)
        flushLogs()
        onCheck(result)
    }

    /// Writes what the plugin logged so far to the validator's log (stderr).
    func flushLogs() {
        let (lines, dropped) = logs.drain()
        for line in lines {
            let level: Logger.Level
            switch line.level {
            case MCPH_LOG_TRACE: level = .trace
            case MCPH_LOG_DEBUG: level = .debug
            case MCPH_LOG_INFO: level = .info
            case MCPH_LOG_ERROR: level = .error
            default: level = .warning
            }
            logger.log(level: level, "plugin: \(line.text)")
        }
        if dropped > 0 { logger.warning("plugin: \(dropped) more log lines dropped") }
    }

    /// Ends the run as "cannot be loaded" (exit status 2), in the host loader's words when it has some.
    func notLoaded(_ check: CheckResult, loader: ProbeProcess.Outcome?) {
        record(check)
        report.loadFailure = loader?.texts("rejected").first ?? check.detail
    }

    func execute(onPlugin: (PluginSummary) -> Void) {
        // The host's loader first, in a child process, before any code of the library runs in this
        // one: a library whose constructors, entry function or init crash or hang there is reported
        // from there (dlopen and the entry function run here without a watchdog).
        let loader = probe(ValidatorProbe.loader)
        if Self.brokeWhileLoading(loader) {
            record(exportsCheck())
            record(loaderCheck(loader))
            notLoaded(.fail("library.open", "not loaded in this process: the host's loader, run on it in a probe process, \(loader.texts("fail").first ?? loader.endingText); a crash or a hang in the plugin's own code cannot be contained in-process"), loader: nil)
            return
        }

        // The library and its descriptor.
        let library: PluginLibrary
        do {
            library = try PluginLibrary.open(options.file, record: record)
        } catch {
            notLoaded(error.check, loader: loader)
            return
        }
        report.plugin = library.summary
        onPlugin(library.summary)
        DescriptorChecks.fields(library).forEach(record)
        record(exportsCheck())

        // The host's loader (run above), and an ABI 1.0 host in another child process.
        record(loaderCheck(loader))
        guard let initFunction = library.descriptor.`init`, library.descriptor.get_interface != nil else {
            report.loadFailure = loader.texts("rejected").first ?? "the descriptor lacks init or get_interface"
            return
        }
        record(oldHostCheck(probe(ValidatorProbe.oldHost)))
        if case .signalled = loader.ending {
            notLoaded(.fail("init", "not run in this process: the plugin crashed the host loader's probe process (\(loader.endingText)); a crash cannot be contained in-process"), loader: nil)
            return
        }

        // init, with a host of this header's size.
        let host = Unchecked(ValidatorHost.current(sink: logs))
        let initCall = Unchecked(initFunction)
        let initialised = runner.call("init", limit: 30) { () -> (mcph_status, Unchecked<UnsafeMutableRawPointer?>, String) in
            var state: UnsafeMutableRawPointer?
            var error = [CChar](repeating: 0, count: 512)
            let status = initCall.value(host.value, &state, &error, error.count)
            return (status, Unchecked(state), cText(error))
        }
        let state: Unchecked<UnsafeMutableRawPointer?>
        switch initialised {
        case .failure(let blocked):
            report.pluginWedged = true
            notLoaded(.fail("init", blocked.description + " (start-up may take a while, not this long)"), loader: loader)
            return
        case .success(let timed):
            let (status, out, message) = timed.value
            guard status == MCPH_OK else {
                notLoaded(.fail("init", "init failed (status \(status)): \(message)"), loader: loader)
                return
            }
            state = out
            record(.pass("init", "MCPH_OK in \(format(timed.milliseconds)) ms with a host of this header's size (struct_size \(MemoryLayout<mcph_host>.size), ABI \(PluginABI.major).\(PluginABI.minor))"))
        }

        // The interface tables, then the behaviour behind them.
        let interfaces = InterfaceChecks(library: library, state: state, runner: runner)
        var transport: TransportTable?, router: RouterTable?
        if library.isTransport {
            let (result, table) = interfaces.transport()
            record(result)
            transport = table
        }
        if library.isRouter {
            let (result, table) = interfaces.router()
            record(result)
            router = table
        }
        record(interfaces.unknown())

        var usable = true
        if library.isTransport {
            if let transport, let config = options.connectionConfig {
                usable = TransportChecks(table: transport, state: state, runner: runner, logs: logs, config: config,
                                         timeout: options.timeout, record: record).run()
            } else {
                let why = transport == nil ? "not run: the transport table is unusable" : "not run (give --connection-config)"
                for id in TransportChecks.checkIDs { record(.skip(id, why)) }
            }
        }
        if library.isRouter {
            if usable, let router {
                usable = RouterChecks(table: router, state: state, pluginMinor: library.descriptor.abi_minor, runner: runner, record: record).run()
            } else {
                let why = usable ? "not run: the router table is unusable" : "not run: the plugin is wedged (a call blocked)"
                for id in RouterChecks.checkIDs { record(.skip(id, why)) }
            }
        }

        // deinit, once nothing of the plugin runs any more.
        guard usable else {
            report.pluginWedged = true
            record(.skip("deinit", "not run: a call into the plugin blocked, so it may still be running"))
            return
        }
        guard let deinitFunction = library.descriptor.deinit else {
            record(.pass("deinit", "absent (allowed: nothing to end)"))
            return
        }
        let deinitCall = Unchecked(deinitFunction)
        switch runner.call("deinit", limit: 10, { deinitCall.value(state.value) }) {
        case .failure(let blocked):
            report.pluginWedged = true
            record(.fail("deinit", blocked.description))
        case .success(let timed): record(.pass("deinit", "returned in \(format(timed.milliseconds)) ms"))
        }
    }

    // MARK: - Checks run here

    func exportsCheck() -> CheckResult {
        let symbols: [String]
        do {
            symbols = try ELFExports.exportedSymbols(path: options.file)
        } catch {
            return .skip("exports", "cannot read the dynamic symbol table: \(error.reason)")
        }
        // dlsym found the entry, so the dynamic symbol table holds it: section headers that do not
        // show it do not describe what the dynamic loader uses (altered, or stripped oddly).
        guard symbols.contains(PluginABI.entrySymbol) else {
            return .fail("exports", "the ELF section headers show no \(PluginABI.entrySymbol) in .dynsym although the dynamic loader finds it: they do not describe the library, so its exports cannot be checked")
        }
        let extra = symbols.filter { $0 != PluginABI.entrySymbol && !ELFExports.linkerSymbols.contains($0) }
        guard extra.isEmpty else {
            let shown = extra.prefix(10).joined(separator: ", ") + (extra.count > 10 ? ", and \(extra.count - 10) more" : "")
            return .fail("exports", "\(extra.count) symbol(s) exported besides \(PluginABI.entrySymbol): \(shown); export only the entry (-fvisibility=hidden, or a linker version script) so that no symbol can interpose the host's or another plugin's")
        }
        return .pass("exports", "only \(PluginABI.entrySymbol) is exported (read from .dynsym)")
    }

    func probe(_ kind: String) -> ProbeProcess.Outcome {
        var arguments = ["validate-plugin", options.file, "--probe", kind, "--timeout", "\(options.timeout)"]
        if kind == ValidatorProbe.oldHost, let config = options.connectionConfig {
            arguments += ["--connection-config", String(decoding: config, as: UTF8.self)]
        }
        var environment = ProbeProcess.currentEnvironment()
        if !options.backtraces {
            environment = environment.filter { !$0.hasPrefix("SWIFT_BACKTRACE=") } + ["SWIFT_BACKTRACE=enable=no"]
        }
        return ProbeProcess(executable: options.executable, arguments: arguments, environment: environment,
                            timeout: options.timeout * 3 + 30).run()
    }

    /// Whether the loader probe crashed or hung while loading the library (dlopen with its
    /// constructors, the entry function, init, get_interface), not later.
    static func brokeWhileLoading(_ outcome: ProbeProcess.Outcome) -> Bool {
        let loading = outcome.stage == nil || outcome.stage == "load"
        switch outcome.ending {
        case .signalled, .timedOut: return loading
        case .exited: return loading && !outcome.texts("fail").isEmpty // its watchdog: "fail load did not return ..."
        case .notStarted: return false
        }
    }

    func loaderCheck(_ outcome: ProbeProcess.Outcome) -> CheckResult {
        if let accepted = outcome.texts("accepted").first, outcome.ending == .exited(0) {
            return .pass("loader", "the host's loader accepts it (plugin '\(accepted)'), with the checks mcp-host serve makes")
        }
        if let reason = outcome.texts("rejected").first {
            return .fail("loader", "the host's loader refuses it: \(reason)")
        }
        return .fail("loader", "the host's loader, run on it in a probe process, \(outcome.texts("fail").first ?? outcome.endingText)")
    }

    func oldHostCheck(_ outcome: ProbeProcess.Outcome) -> CheckResult {
        let failures = outcome.texts("fail")
        if outcome.ending == .exited(0), let passed = outcome.texts("pass").first {
            return .pass("abi.old-host", "works with an ABI 1.0 host whose mcph_host and callbacks end at their 1.0 size (poisoned bytes after): \(passed)")
        }
        if !failures.isEmpty {
            return .fail("abi.old-host", "with an ABI 1.0 host (1.0 struct_size, abi_minor 0): " + failures.joined(separator: "; "))
        }
        if case .signalled = outcome.ending {
            return .fail("abi.old-host", "with an ABI 1.0 host the probe process \(outcome.endingText): the plugin most likely reads mcph_host or mcph_conn_callbacks past the struct_size the host declared (check struct_size, or copy with mcph_struct_copy)")
        }
        return .fail("abi.old-host", "the ABI 1.0 host probe \(outcome.endingText)")
    }
}
