import ArgumentParser
import Host

@main
struct MCPHostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp-host",
        abstract: "One MCP proxy shared by every client: each backend started once, its tools, resources and prompts exposed as SERVER__NAME.",
        version: HostVersion.string,
        subcommands: [ServeCommand.self, PluginsCommand.self, ToolsCommand.self, CallCommand.self],
        defaultSubcommand: ServeCommand.self)

    /// `--http` may be given without an address (then 127.0.0.1:7332); the argument parser needs a
    /// value, so the default is filled in here.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if let index = arguments.firstIndex(of: "--http"),
           index + 1 == arguments.count || arguments[index + 1].hasPrefix("-") {
            arguments.insert(ServeCommand.defaultHTTPAddress, at: index + 1)
        }
        await main(arguments)
    }
}
