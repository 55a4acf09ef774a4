import ArgumentParser
import Dispatch
import Foundation
import Host
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let defaultHTTPAddress = "127.0.0.1:7332"
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve MCP clients on stdin/stdout (the default), over HTTP with --http, or on a Unix socket with --socket (also with --http).")

    @OptionGroup var options: CoreOptions

    @OptionGroup var socketOptions: SocketOptions

    @Option(name: .customLong("http"), help: ArgumentHelp(
        "Serve Streamable HTTP (/mcp) and HTTP+SSE (/sse) on this address instead of stdio; without a value \(defaultHTTPAddress).",
        valueName: "host:port"))
    var http: String?

    @Flag(name: .customLong("insecure"), help: "Allow a non-loopback --http address without bearer tokens.")
    var insecure = false

    @Option(name: .customLong("auth-token-file"), help: ArgumentHelp(
        "File with accepted bearer tokens, one per line as TOKEN [subject=NAME] [roles=a,b]; also $MCP_HOST_AUTH_TOKEN (no subject). With tokens, every HTTP request needs one.", valueName: "file"))
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

    @Option(name: .customLong("replica-id"), help: ArgumentHelp("Prefix of issued session ids, for load balancers routing on it: 1 to 64 of A-Z a-z 0-9 _ (docs/scaling.md).", valueName: "id"))
    var replicaID: String?

    /// Checks the HTTP numbers before anything starts (a bad one is a usage error, exit 64), also
    /// when `--http` is absent, so a typo never waits for the day HTTP is switched on.
    func validate() throws {
        var http = HTTPOptions()
        try applyNumbers(to: &http)
        if socketOptions.socket == nil && socketOptions.exitWhenIdle != nil {
            throw ValidationError("--exit-when-idle: only a host serving a socket exits when idle; add --socket")
        }
    }

    /// Raises the soft limit on open files to the hard limit: every HTTP session with its event
    /// stream holds sockets, and the common soft limit (1024) would refuse connections long before
    /// `--max-sessions`. Backends get the original limit back (`MCPH_ORIGINAL_NOFILE`, restored by
    /// mcph-supervisor before it starts them): programs using select() break past 1024.
    /// Called before any thread that reads the environment is started.
    static func raiseOpenFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let before = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            setenv("MCPH_ORIGINAL_NOFILE", "\(before)", 1)
            logger.debug("raised the open-file limit", metadata: ["from": "\(before)", "to": "\(limit.rlim_max)"])
        } else {
            logger.warning("could not raise the open-file limit from \(before) (\(String(cString: strerror(errno)))): HTTP sessions beyond about \(before / 2) may be refused; raise it with `ulimit -n`")
        }
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
        if httpOptions != nil { Self.raiseOpenFileLimit(logger: logger) }
        if let path = try socketOptions.socketPath(environment: ProcessInfo.processInfo.environment) {
            try await serveSocket(path, http: httpOptions, logger: logger)
            return
        }
        let core = try options.makeCore(logger: logger)
        let reloader = options.makeReloader(core: core, logger: logger)
        let hangups = SignalWatcher(signals: [SIGHUP]) { _ in reloader?.reload(trigger: "SIGHUP") }
        defer {
            hangups.cancel()
            reloader?.stop()
        }
        if let httpOptions {
            let frontEnd = HTTPFrontEnd(core: core, options: httpOptions, metrics: HostMetrics.bootstrap(), logger: logger)
            let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { _ in frontEnd.stop() }
            try await frontEnd.run()
            signals.cancel()
        } else {
            let frontEnd = StdioFrontEnd(core: core, logger: logger)
            let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { signal in
                frontEnd.stop(reason: "signal \(signal)")
            }
            await frontEnd.run() // ends with the core's shutdown
            signals.cancel()
        }
        await core.registry.shutdown(logger: logger) // plugins' deinit, after every connection is destroyed
        logger.info("mcp-host stopped")
    }

    /// The shared host: clients on a Unix socket (and on HTTP too with `--http`). The socket is
    /// claimed before the core starts, so a second host on it fails at once with a clear error.
    private func serveSocket(_ path: SocketPath, http httpOptions: HTTPOptions?, logger: Logger) async throws {
        let listener: SocketListener
        do {
            listener = try SocketListener(claiming: path, logger: logger)
        } catch {
            logger.error("cannot serve on the socket: \(error)")
            throw ExitCode.failure
        }
        let core: HostCore
        do {
            core = try options.makeCore(logger: logger)
            try listener.listen()
        } catch let error as SharedHostError {
            logger.error("cannot serve on the socket: \(error)")
            listener.close()
            throw ExitCode.failure
        } catch {
            listener.close()
            throw error
        }
        let frontEnd = SocketFrontEnd(core: core, listener: listener, exitWhenIdle: try socketOptions.idleLimit(default: nil), logger: logger)
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { signal in frontEnd.stop(reason: "signal \(signal)") }
        let reloader = options.makeReloader(core: core, logger: logger)
        let hangups = SignalWatcher(signals: [SIGHUP]) { _ in reloader?.reload(trigger: "SIGHUP") }
        defer {
            hangups.cancel()
            reloader?.stop()
        }
        var failure: (any Error)?
        if let httpOptions {
            // Both front-ends share the core; the HTTP one shuts it down when it stops, and
            // either one stopping stops the other.
            let http = HTTPFrontEnd(core: core, options: httpOptions, metrics: HostMetrics.bootstrap(), logger: logger)
            let httpRun = Task { () -> (any Error)? in
                defer { frontEnd.stop(reason: "the HTTP front-end stopped") }
                do {
                    try await http.run()
                    return nil
                } catch {
                    return error
                }
            }
            Task {
                _ = await frontEnd.stopRequested()
                http.stop()
            }
            await frontEnd.run(shutdownCore: { _ = await httpRun.value })
            failure = await httpRun.value
        } else {
            await frontEnd.run(shutdownCore: { await core.shutdown() })
        }
        signals.cancel()
        await core.registry.shutdown(logger: logger)
        logger.info("mcp-host stopped")
        if let failure { throw failure }
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
        if let replicaID {
            // The prefix a balancer routes on (docs/scaling.md): the part before the first `-` of
            // every session id, so it may not hold a `-`, and ids stay valid session ids.
            let allowed = replicaID.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
            }
            guard allowed, (1...64).contains(replicaID.utf8.count) else {
                throw ValidationError("--replica-id: '\(replicaID.prefix(80))' is not usable; give 1 to 64 characters from A-Z, a-z, 0-9 and _ (no '-': it ends the prefix a load balancer routes on)")
            }
        }
        http.replicaID = replicaID
        if let file = authTokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--auth-token-file: cannot read \(file)")
            }
            do {
                http.bearerTokens += try BearerTokenFile.parse(text) // TOKEN [subject=NAME] [roles=a,b]
            } catch {
                throw ValidationError("--auth-token-file \(file): \(error)")
            }
        }
        if let token = ProcessInfo.processInfo.environment["MCP_HOST_AUTH_TOKEN"], !token.isEmpty { http.bearerTokens.append(BearerToken(token)) }
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
