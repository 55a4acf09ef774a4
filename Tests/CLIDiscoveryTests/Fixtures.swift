import Foundation
import Testing
@testable import CLIDiscovery

/// Help-text fixtures in Tests/Fixtures/cli-help (see its README for where each one comes from).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/cli-help")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func page(_ name: String) throws -> HelpPage {
        try #require(HelpParser.parse(try text(name)), "no help page recognised in \(name)")
    }
}

extension HelpPage {
    func option(_ spelling: String) -> Option? {
        options.first { $0.long == spelling || $0.short == spelling }
    }

    var subcommandNames: [String] { subcommands.map(\.name) }
}

/// The tool's input schema as a dictionary.
func schema(of tool: ToolDefinition) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(tool.inputSchema.utf8))
    return try #require(object as? [String: Any])
}

func properties(of tool: ToolDefinition) throws -> [String: [String: Any]] {
    try #require(try schema(of: tool)["properties"] as? [String: [String: Any]])
}
