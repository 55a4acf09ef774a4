import ArgumentParser
import Host
import Logging

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the plugins found in the plugin directories: loaded ones and rejected ones with the reason.")

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        var logger = Logger(label: "mcp-host") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        let directories = plugins.resolvedDirectories
        let registry = plugins.loader(logger: logger).load(directories: directories)
        print("plugin directories: \(directories.joined(separator: ", "))")
        if registry.plugins.isEmpty { print("no plugins loaded") }
        for plugin in registry.plugins {
            let info = plugin.info
            print("loaded   \(info.id)  kind=\(info.kindNames.joined(separator: ","))  version=\(info.version)  abi=\(info.abiMajor).\(info.abiMinor)  \(info.path)")
        }
        for transport in registry.transports.values.sorted(by: { $0.name < $1.name }) {
            print("transport \(transport.name)  (from \(transport.plugin.info.id))")
        }
        for rejection in registry.rejected {
            print("rejected \(rejection.path): \(rejection.reason)")
        }
        registry.endIdlePlugins()
    }
}
