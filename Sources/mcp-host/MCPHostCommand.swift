import ArgumentParser
import Foundation
import Host

@main
struct MCPHostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-host",
        abstract: "One MCP proxy shared by every client: each backend started once, its tools, resources and prompts exposed as SERVER__NAME.",
        version: HostVersion.string,
        subcommands: [ServeCommand.self, ConnectCommand.self, StatusCommand.self, PluginsCommand.self, ValidatePluginCommand.self, ToolsCommand.self, CallCommand.self],
        defaultSubcommand: ServeCommand.self)

    /// `--http` may be given without an address (then 127.0.0.1:7332), and `--socket` without a
    /// path (then the user's default socket); the argument parser needs a value, so the defaults
    /// are filled in here.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if let index = arguments.firstIndex(of: "--http"),
           index + 1 == arguments.count || arguments[index + 1].hasPrefix("-") {
            arguments.insert(ServeCommand.defaultHTTPAddress, at: index + 1)
        }
        if let index = arguments.firstIndex(of: "--socket"),
           index + 1 == arguments.count || arguments[index + 1].hasPrefix("-") {
            arguments.insert(HostPaths.defaultSocketPath(environment: ProcessInfo.processInfo.environment), at: index + 1)
        }
        // The bridge runs here, on the main thread, before anything is awaited: it needs no
        // concurrency runtime (an async command would run on, and block, a pool thread), and
        // parsing only its own options halves its start-up. Help and usage errors take the
        // ordinary path below, which names the command properly.
        if arguments.first == "connect", var bridge = try? ConnectCommand.parseAsRoot(Array(arguments.dropFirst())) as? ConnectCommand {
            do {
                try bridge.run()
                exit()
            } catch {
                exit(withError: error)
            }
        }
        await main(arguments)
    }
}
