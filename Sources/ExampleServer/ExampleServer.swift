import Foundation
import MCP

/// A small MCP server over stdio, built on the official Swift SDK: what the README's first command
/// serves through mcp-host, so the quickstart works with nothing else installed.
@main
struct ExampleServer {
    static func main() async throws {
        let server = Server(
            name: "mcp-example-server",
            version: "0.1.0",
            capabilities: .init(prompts: .init(listChanged: false), resources: .init(subscribe: false, listChanged: false),
                                tools: .init(listChanged: false)))

        await server.withMethodHandler(ListTools.self) { _ in
            .init(tools: [
                Tool(name: "echo", description: "Returns the given text.",
                     inputSchema: .object(["type": "object", "properties": .object(["text": .object(["type": "string"])]), "required": .array(["text"])])),
                Tool(name: "add", description: "Adds two numbers.",
                     inputSchema: .object(["type": "object", "properties": .object(["a": .object(["type": "number"]), "b": .object(["type": "number"])])])),
                Tool(name: "sleep", description: "Waits the given number of milliseconds, then says so.",
                     inputSchema: .object(["type": "object", "properties": .object(["ms": .object(["type": "integer"])])])),
            ])
        }
        await server.withMethodHandler(CallTool.self) { params in
            switch params.name {
            case "echo":
                return .init(content: [.text(text: params.arguments?["text"]?.stringValue ?? "", annotations: nil, _meta: nil)], isError: false)
            case "add":
                let a = params.arguments?["a"].flatMap { $0.doubleValue ?? $0.intValue.map(Double.init) } ?? 0
                let b = params.arguments?["b"].flatMap { $0.doubleValue ?? $0.intValue.map(Double.init) } ?? 0
                let sum = a + b
                return .init(content: [.text(text: sum == sum.rounded() && abs(sum) < 1e15 ? String(Int(sum)) : String(sum), annotations: nil, _meta: nil)], isError: false)
            case "sleep":
                let ms = params.arguments?["ms"]?.intValue ?? 100
                try await Task.sleep(for: .milliseconds(ms))
                return .init(content: [.text(text: "slept \(ms) ms", annotations: nil, _meta: nil)], isError: false)
            default:
                return .init(content: [.text(text: "unknown tool '\(params.name)'", annotations: nil, _meta: nil)], isError: true)
            }
        }
        await server.withMethodHandler(ListResources.self) { _ in
            .init(resources: [Resource(name: "About", uri: "example://about", description: "What this server is.", mimeType: "text/plain")],
                  nextCursor: nil)
        }
        await server.withMethodHandler(ReadResource.self) { params in
            guard params.uri == "example://about" else { throw MCPError.invalidParams("Unknown resource URI: \(params.uri)") }
            return .init(contents: [.text("mcp-example-server: the example backend shipped with mcp-host.", uri: params.uri)])
        }
        await server.withMethodHandler(ListPrompts.self) { _ in
            .init(prompts: [Prompt(name: "greeting", description: "Greets someone.", arguments: [.init(name: "name", description: "Who", required: true)])],
                  nextCursor: nil)
        }
        await server.withMethodHandler(GetPrompt.self) { params in
            let name = params.arguments?["name"] ?? "world"
            return .init(description: "A greeting", messages: [.user(.text(text: "Say hello to \(name)."))])
        }

        try await server.start(transport: StdioTransport())
        await server.waitUntilCompleted()
    }
}
