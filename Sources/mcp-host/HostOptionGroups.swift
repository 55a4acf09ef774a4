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

    var resolvedDirectories: [String] { directories.isEmpty ? HostPaths.defaultPluginDirectories : directories }
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
        "Upper bound of every request, in seconds. Default: $MCP_HOST_REQUEST_TIMEOUT, else 120.", valueName: "seconds"))
    var requestTimeout: Double?

    @Option(name: .customLong("list-timeout"), help: ArgumentHelp(
        "How long a list waits for one backend before answering without it, in seconds.", valueName: "seconds"))
    var listTimeout: Double = 15

    @Option(name: .customLong("router"), help: ArgumentHelp("Id of the router plugin to use. Default: mcph.namespace if loaded, else the first router loaded.", valueName: "id"))
    var routerID: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Default: $MCP_HOST_LOG_LEVEL, else info (warning for one-shot commands).")
    var logLevel: String?

    /// Sets up logging to stderr; stdout stays for protocol or command output.
    func bootstrapLogging(defaultLevel: Logger.Level) -> Logger {
        let text = logLevel ?? ProcessInfo.processInfo.environment["MCP_HOST_LOG_LEVEL"]
        let level = text.flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
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
        let registry = PluginLoader(logger: logger).load(directories: plugins.resolvedDirectories)

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

        var options = HostOptions()
        if let timeout = requestTimeout ?? environment["MCP_HOST_REQUEST_TIMEOUT"].flatMap(Double.init) {
            guard timeout > 0 else { throw ValidationError("--request-timeout must be positive") }
            options.requestTimeout = timeout
        }
        options.listTimeout = min(listTimeout, options.requestTimeout)

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
