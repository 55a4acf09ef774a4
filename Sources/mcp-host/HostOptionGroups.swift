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

    /// The plugin loader for these options (plugin directories and state directory).
    func loader(logger: Logger) -> PluginLoader {
        PluginLoader(logger: logger, stateDirectory: HostPaths.stateDirectory(flag: stateDirectory, environment: ProcessInfo.processInfo.environment))
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

    @Option(name: .customLong("router"), help: ArgumentHelp("Id of the router plugin to use. Default: mcph.namespace if loaded, else the first router loaded.", valueName: "id"))
    var routerID: String?

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

    /// Loads plugins and configuration and builds the core. Exits with a clear message when the
    /// configuration file itself is unusable; a bad server entry only disables that server.
    func makeCore(logger: Logger) throws -> HostCore {
        let environment = ProcessInfo.processInfo.environment
        let registry = plugins.loader(logger: logger).load(directories: plugins.resolvedDirectories)

        let explicit = configFile ?? environment["MCP_HOST_CONFIG"]
        let file = explicit ?? HostPaths.home + "/.config/mcp-host/servers.json"
        var config = HostConfig()
        if explicit == nil && !HostPaths.isFile(file) {
            logger.warning("no configuration: \(file) does not exist and neither --config nor MCP_HOST_CONFIG is set; serving no backends")
        } else {
            do {
                config = try ConfigLoader(environment: environment).load(
                    file: file, directory: configDirectory ?? HostPaths.resolve("servers.d", against: HostPaths.parent(of: file)))
            } catch {
                throw ValidationError("invalid configuration: \(error)")
            }
        }
        for problem in config.problems { logger.error("configuration: \(problem)") }
        for server in config.servers where registry.transport(named: server.transport) == nil {
            logger.error("server '\(server.name)' (\(server.source)) needs transport '\(server.transport)', which no loaded plugin provides; its requests will fail until it is installed")
        }

        let options = try hostOptions(environment: environment)

        let router: RouterPlugin?
        if let routerID {
            guard let chosen = registry.routers.first(where: { $0.plugin.info.id == routerID }) else {
                throw ValidationError("no router plugin '\(routerID)' is loaded; `mcp-host plugins` lists the loaded ones")
            }
            router = chosen
        } else {
            router = registry.routers.first { $0.plugin.info.id == "mcph.namespace" } ?? registry.routers.first
        }
        if router == nil { logger.warning("no router plugin loaded: items are exposed as SERVER__NAME without shortening") }

        let core = HostCore(config: config, registry: registry, router: Router(plugin: router), options: options, logger: logger)
        core.start()
        return core
    }
}
