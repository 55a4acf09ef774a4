import ArgumentParser
import Dispatch
import Foundation
import Host

struct ServeCommand: AsyncParsableCommand {
    static let defaultHTTPAddress = "127.0.0.1:7332"
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve MCP clients on stdin/stdout (the default), or over HTTP with --http.")

    @OptionGroup var options: CoreOptions

    @Option(name: .customLong("http"), help: ArgumentHelp(
        "Serve Streamable HTTP (/mcp) and HTTP+SSE (/sse) on this address instead of stdio; without a value \(defaultHTTPAddress).",
        valueName: "host:port"))
    var http: String?

    @Flag(name: .customLong("insecure"), help: "Allow a non-loopback --http address without bearer tokens.")
    var insecure = false

    @Option(name: .customLong("auth-token-file"), help: ArgumentHelp(
        "File with accepted bearer tokens, one per line; also $MCP_HOST_AUTH_TOKEN. With tokens, every HTTP request needs one.", valueName: "file"))
    var authTokenFile: String?

    @Option(name: .customLong("allow-origin"), help: ArgumentHelp("An Origin allowed besides loopback ones (repeatable), e.g. https://app.example.", valueName: "origin"))
    var allowedOrigins: [String] = []

    @Option(name: .customLong("max-body-bytes"), help: ArgumentHelp(
        "Largest accepted HTTP request body in bytes (larger: 413), 1024 to 1073741824. Default: 4194304.", valueName: "bytes"))
    var maxBodyBytes: String?

    @Option(name: .customLong("session-timeout"), help: ArgumentHelp(
        "Idle HTTP sessions expire after this duration (e.g. 30m; a bare number is seconds), 1s to 30d. Default: 30m.", valueName: "duration"))
    var sessionTimeout: String?

    @Option(name: .customLong("shutdown-timeout"), help: ArgumentHelp(
        "On SIGTERM, how long in-flight HTTP requests may still take: a duration, 0s to 1h. Default: 10s.", valueName: "duration"))
    var shutdownTimeout: String?

    @Option(name: .customLong("max-sessions"), help: ArgumentHelp(
        "Most HTTP sessions at once; past it new ones get 503. 1 to 1000000. Default: 1024.", valueName: "n"))
    var maxSessions: String?

    @Option(name: .customLong("replica-id"), help: ArgumentHelp("Prefix of issued session ids, for load balancers routing on it.", valueName: "id"))
    var replicaID: String?

    /// Checks the HTTP numbers before anything starts (a bad one is a usage error, exit 64), also
    /// when `--http` is absent, so a typo never waits for the day HTTP is switched on.
    func validate() throws {
        var http = HTTPOptions()
        try applyNumbers(to: &http)
    }

    /// Parses and checks `--max-body-bytes`, `--session-timeout`, `--shutdown-timeout`, `--max-sessions`.
    private func applyNumbers(to http: inout HTTPOptions) throws {
        do {
            if let text = maxBodyBytes {
                http.maxBodyBytes = try SettingCheck.integer(text, setting: "--max-body-bytes", range: HTTPOptions.Limits.maxBodyBytes)
            }
            if let text = sessionTimeout {
                http.sessionIdleTimeout = try SettingCheck.duration(text, setting: "--session-timeout", range: HTTPOptions.Limits.sessionIdleTimeout)
            }
            if let text = shutdownTimeout {
                http.shutdownTimeout = try SettingCheck.duration(text, setting: "--shutdown-timeout", range: HTTPOptions.Limits.shutdownTimeout)
            }
            if let text = maxSessions {
                http.maxSessions = try SettingCheck.integer(text, setting: "--max-sessions", range: HTTPOptions.Limits.maxSessions)
            }
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let logger = options.bootstrapLogging(defaultLevel: .info)
        let httpOptions = try http.map(makeHTTPOptions)
        let core = try options.makeCore(logger: logger)
        if let httpOptions {
            let frontEnd = HTTPFrontEnd(core: core, options: httpOptions, metrics: HostMetrics.bootstrap(), logger: logger)
            let signals = SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP]) { _ in frontEnd.stop() }
            try await frontEnd.run()
            signals.cancel()
        } else {
            let frontEnd = StdioFrontEnd(core: core, logger: logger)
            let signals = SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP]) { signal in
                frontEnd.stop(reason: "signal \(signal)")
            }
            await frontEnd.run() // ends with the core's shutdown
            signals.cancel()
        }
        await core.registry.shutdown(logger: logger) // plugins' deinit, after every connection is destroyed
        logger.info("mcp-host stopped")
    }

    private func makeHTTPOptions(_ address: String) throws -> HTTPOptions {
        guard let (host, port) = HTTPOptions.parseAddress(address) else {
            throw ValidationError("--http: cannot read '\(address)'; expected HOST:PORT, e.g. \(Self.defaultHTTPAddress)")
        }
        var http = HTTPOptions()
        http.host = host
        http.port = port
        http.insecure = insecure
        http.allowedOrigins = Set(allowedOrigins)
        try applyNumbers(to: &http)
        http.replicaID = replicaID
        if let file = authTokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--auth-token-file: cannot read \(file)")
            }
            http.bearerTokens += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let token = ProcessInfo.processInfo.environment["MCP_HOST_AUTH_TOKEN"], !token.isEmpty { http.bearerTokens.append(token) }
        if let refusal = HTTPFrontEnd.bindRefusal(http) { throw ValidationError(refusal) }
        return http
    }
}

/// Turns termination signals into a callback (on a Dispatch queue, not in a signal handler).
///
/// `@unchecked Sendable`: `sources` is written once in init and only read (cancel) after.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "mcp-host.signals")
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() { for source in sources { source.cancel() } }
}
