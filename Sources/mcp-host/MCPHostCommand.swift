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
}
