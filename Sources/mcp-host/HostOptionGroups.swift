import ArgumentParser
import Foundation
import Host
import Logging

/// `--plugins DIR` (repeatable) and the default plugin directories.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugins"), help: ArgumentHelp(
        "A plugin directory (repeatable; read in order, each in lexical order). Default: the installed plugin directory beside the binary, then ~/.config/mcp-host/plugins.d.",
        valueName: "dir"))
    var directories: [String] = []

    @Option(name: .customLong("state-dir"), help: ArgumentHelp(
        "Directory where plugins keep state across restarts (e.g. the CLI transport's discovery cache). Default: $MCP_HOST_STATE_DIR, else $XDG_STATE_HOME/mcp-host, else ~/.local/state/mcp-host.",
        valueName: "dir"))
    var stateDirectory: String?

    var resolvedDirectories: [String] { directories.isEmpty ? HostPaths.defaultPluginDirectories : directories }

    /// The plugin loader for these options (plugin directories and state directory), giving each
    /// plugin its section of the configuration.
    func loader(logger: Logger, pluginSettings: [String: [UInt8]] = [:], invalidSettings: [String: String] = [:]) -> PluginLoader {
        PluginLoader(logger: logger, stateDirectory: HostPaths.stateDirectory(flag: stateDirectory, environment: ProcessInfo.processInfo.environment),
                     pluginSettings: pluginSettings, invalidSettings: invalidSettings)
    }
}

/// Logging, configuration and core settings shared by every command that runs backends.
struct CoreOptions: ParsableArguments {
    @OptionGroup var plugins: PluginOptions

    @Option(name: .customLong("config"), help: ArgumentHelp(
        "The servers file ({\"mcpServers\": {...}}). Default: $MCP_HOST_CONFIG, else ~/.config/mcp-host/servers.json.", valueName: "file"))
    var configFile: String?

    @Option(name: .customLong("config-dir"), help: ArgumentHelp(
        "Drop-in directory of *.json server files merged in lexical order, later wins per server. Default: servers.d beside the servers file.",
        valueName: "dir"))
    var configDirectory: String?

    @Option(name: .customLong("request-timeout"), help: ArgumentHelp(
        "Upper bound of every request: a duration such as 90s or 2m (a bare number is seconds), 1ms to 1d. Default: $MCP_HOST_REQUEST_TIMEOUT, else 120s.",
        valueName: "duration"))
    var requestTimeout: String?

    @Option(name: .customLong("list-timeout"), help: ArgumentHelp(
        "How long a list waits for one backend before answering without it: a duration, 1ms to 1d (capped at the request timeout). Default: 15s.",
        valueName: "duration"))
    var listTimeout: String?

    @Option(name: .customLong("max-client-requests"), help: ArgumentHelp(
        "Most requests one client may have in flight on one backend; past it the client gets an error. 1 to 1000000. Default: $MCP_HOST_MAX_CLIENT_REQUESTS, else 256.",
        valueName: "n"))
    var maxClientRequests: String?

    @Option(name: .customLong("router"), help: ArgumentHelp(
        "A router plugin of the chain (repeatable, in chain order; overrides \"routers\" in the servers file). Default: mcph.namespace if loaded, else the first router loaded.",
        valueName: "id"))
    var routerIDs: [String] = []

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Default: $MCP_HOST_LOG_LEVEL, else info (warning for one-shot commands).")
    var logLevel: String?

    /// Checks every number given on the command line or in the environment before anything starts,
    /// so a bad value is a usage error (exit 64) naming the option and its range.
    func validate() throws {
        _ = try hostOptions(environment: ProcessInfo.processInfo.environment)
        _ = try Self.logLevel(flag: logLevel, environment: ProcessInfo.processInfo.environment)
    }

    /// The core's settings from the flags, else the environment, else the defaults; each checked.
    func hostOptions(environment: [String: String]) throws -> HostOptions {
        var options = HostOptions()
        do {
            if let text = requestTimeout {
                options.requestTimeout = try SettingCheck.duration(text, setting: "--request-timeout", range: HostOptions.Limits.requestTimeout)
            } else if let text = environment["MCP_HOST_REQUEST_TIMEOUT"], !text.isEmpty { // set but empty: not given
                options.requestTimeout = try SettingCheck.duration(text, setting: "MCP_HOST_REQUEST_TIMEOUT", range: HostOptions.Limits.requestTimeout)
            }
            if let text = listTimeout {
                options.listTimeout = try SettingCheck.duration(text, setting: "--list-timeout", range: HostOptions.Limits.listTimeout)
            }
            options.listTimeout = min(options.listTimeout, options.requestTimeout)
            if let text = maxClientRequests {
                options.maxInFlightPerClient = try SettingCheck.integer(text, setting: "--max-client-requests", range: HostOptions.Limits.maxInFlightPerClient)
            } else if let text = environment["MCP_HOST_MAX_CLIENT_REQUESTS"], !text.isEmpty { // set but empty: not given
                options.maxInFlightPerClient = try SettingCheck.integer(text, setting: "MCP_HOST_MAX_CLIENT_REQUESTS", range: HostOptions.Limits.maxInFlightPerClient)
            }
        } catch {
            throw ValidationError(error.description)
        }
        return options
    }

    /// The log level from `--log-level`, else `$MCP_HOST_LOG_LEVEL`; nil when neither is given.
    static func logLevel(flag: String?, environment: [String: String]) throws -> Logger.Level? {
        let (setting, text) = flag.map { ("--log-level", $0) } ?? ("MCP_HOST_LOG_LEVEL", environment["MCP_HOST_LOG_LEVEL"] ?? "")
        if text.isEmpty && flag == nil { return nil }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("\(setting): '\(text)' is not a log level; give trace, debug, info, notice, warning, error or critical")
        }
        return level
    }

    /// Sets up logging to stderr; stdout stays for protocol or command output.
    func bootstrapLogging(defaultLevel: Logger.Level) -> Logger {
        // validate() has refused an unknown level, so nil here means "not given".
        let level = (try? Self.logLevel(flag: logLevel, environment: ProcessInfo.processInfo.environment)) ?? defaultLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "mcp-host")
        logger.logLevel = level
        return logger
    }

    /// Where the configuration comes from: `--config`, `$MCP_HOST_CONFIG`, or the default file, and
    /// its drop-in directory (`--config-dir`, else `servers.d` beside the file).
    func configSource(environment: [String: String]) -> (file: String, directory: String, explicit: Bool) {
        let explicit = configFile ?? environment["MCP_HOST_CONFIG"]
        let file = explicit ?? HostPaths.home + "/.config/mcp-host/servers.json"
        return (file, configDirectory ?? HostPaths.resolve("servers.d", against: HostPaths.parent(of: file)), explicit != nil)
    }

    /// Reloads the configuration into a running core (SIGHUP, file changes); nil when the host runs
    /// without a configuration file.
    func makeReloader(core: HostCore, logger: Logger) -> ConfigReloader? {
        let environment = ProcessInfo.processInfo.environment
        let source = configSource(environment: environment)
        guard source.explicit || HostPaths.isFile(source.file) else { return nil }
        let reloader = ConfigReloader(core: core, file: source.file, directory: source.directory,
                                      loader: ConfigLoader(environment: environment), logger: logger)
        reloader.watch()
        return reloader
    }

    /// Loads plugins and configuration and builds the core. Exits with a clear message when the
    /// configuration file itself is unusable; a bad server entry only disables that server.
    func makeCore(logger: Logger) throws -> HostCore {
        let environment = ProcessInfo.processInfo.environment
        let source = configSource(environment: environment)
        let file = source.file
        var config = HostConfig()
        if !source.explicit && !HostPaths.isFile(file) {
            logger.warning("no configuration: \(file) does not exist and neither --config nor MCP_HOST_CONFIG is set; serving no backends")
        } else {
            do {
                config = try ConfigLoader(environment: environment).load(file: file, directory: source.directory)
            } catch {
                throw ValidationError("invalid configuration: \(error)")
            }
        }
        for problem in config.problems { logger.error("configuration: \(problem)") }
        // The configuration first: each plugin gets its own section of it at init (ABI 1.4).
        let registry = plugins.loader(logger: logger, pluginSettings: config.pluginSettings, invalidSettings: config.invalidPluginSettings)
            .load(directories: plugins.resolvedDirectories)
        for id in config.pluginSettings.keys.sorted() where !registry.plugins.contains(where: { $0.info.id == id }) {
            logger.warning("configuration: \"plugins\" has settings for '\(id)', which is not loaded; they are not used")
        }
        for server in config.servers where registry.transport(named: server.transport) == nil {
            logger.error("server '\(server.name)' (\(server.source)) needs transport '\(server.transport)', which no loaded plugin provides; its requests will fail until it is installed")
        }

        let options = try hostOptions(environment: environment)

        // The router chain: --router (in order) wins over the servers file's "routers".
        let requested = routerIDs.isEmpty ? config.routers : routerIDs
        let chainSource = routerIDs.isEmpty ? "\"routers\" in \(file)" : "--router"
        let chain: [RouterPlugin]
        switch RouterChain.select(requested, from: registry.routers, source: chainSource) {
        case .success(let routers): chain = routers
        case .failure(let error): throw ValidationError(error.description)
        }
        if chain.isEmpty { logger.warning("no router plugin loaded: items are exposed as SERVER__NAME without shortening") }
        logger.debug("router chain", metadata: ["routers": "\(chain.map(\.plugin.info.id).joined(separator: " -> "))"])

        let core = HostCore(config: config, registry: registry, router: Router(chain: chain, logger: logger), options: options, logger: logger,
                            stateDirectory: HostPaths.stateDirectory(flag: plugins.stateDirectory, environment: environment))
        core.start()
        return core
    }
}

extension PluginOptions {
    /// These options as command-line arguments, paths made absolute (for a host started by
    /// `mcp-host connect`, which may run in another directory later).
    var forwardedArguments: [String] {
        directories.flatMap { ["--plugins", HostPaths.absolute($0)] }
            + (stateDirectory.map { ["--state-dir", HostPaths.absolute($0)] } ?? [])
    }
}

extension CoreOptions {
    /// These options as `serve` arguments, paths made absolute, for the shared host that
    /// `mcp-host connect` starts. Keep in step with the options above.
    var forwardedArguments: [String] {
        var arguments = plugins.forwardedArguments
        if let configFile { arguments += ["--config", HostPaths.absolute(configFile)] }
        if let configDirectory { arguments += ["--config-dir", HostPaths.absolute(configDirectory)] }
        if let requestTimeout { arguments += ["--request-timeout", requestTimeout] }
        if let listTimeout { arguments += ["--list-timeout", listTimeout] }
        if let maxClientRequests { arguments += ["--max-client-requests", maxClientRequests] }
        for routerID in routerIDs { arguments += ["--router", routerID] }
        if let logLevel { arguments += ["--log-level", logLevel] }
        return arguments
    }
}

/// `--socket [PATH]` and `--exit-when-idle`: the shared host's Unix socket (`serve`, `connect`).
struct SocketOptions: ParsableArguments {
    @Option(name: .customLong("socket"), help: ArgumentHelp(
        "Serve clients on this Unix socket (serve), or reach the shared host there (connect); without a value $XDG_RUNTIME_DIR/mcp-host/host.sock, else /tmp/mcp-host-<uid>/host.sock.",
        valueName: "path"))
    var socket: String?

    @Option(name: .customLong("exit-when-idle"), help: ArgumentHelp(
        "A host serving a socket exits after this long with no client: a duration, 1s to 30d, or never. Default: never for serve, 10m for a host started by connect.",
        valueName: "duration"))
    var exitWhenIdle: String?

    func validate() throws {
        _ = try socketPath(environment: [:])
        _ = try idleLimit(default: nil)
    }

    /// The socket from `--socket`, else the default one when `orDefault`; nil when not given.
    func socketPath(environment: [String: String], orDefault: Bool = false) throws -> SocketPath? {
        guard let text = socket ?? (orDefault ? HostPaths.defaultSocketPath(environment: environment) : nil) else { return nil }
        do {
            return try SocketPath.parse(text, setting: "--socket")
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Seconds without clients before the host exits; nil for never (`never`, or not given and
    /// `fallback` nil).
    func idleLimit(default fallback: Double?) throws -> Double? {
        guard let text = exitWhenIdle else { return fallback }
        if text.trimmingCharacters(in: .whitespaces).lowercased() == "never" { return nil }
        do {
            return try SettingCheck.duration(text, setting: "--exit-when-idle", range: SocketFrontEnd.exitWhenIdleRange)
        } catch {
            throw ValidationError(error.description + ", or never")
        }
    }
}
