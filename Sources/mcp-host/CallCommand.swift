import ArgumentParser
import Foundation
import Host

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call one tool and print its result (text as text, everything else as JSON). Exits non-zero on a tool error.")

    @OptionGroup var options: CoreOptions

    @Argument(help: "The namespaced tool name, SERVER__TOOL.")
    var tool: String

    @Argument(help: "The arguments as a JSON object.")
    var arguments: String = "{}"

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(arguments.utf8)), parsed is [String: Any] else {
            throw ValidationError("the arguments must be a JSON object, e.g. '{\"name\": \"value\"}'; got: \(arguments)")
        }
        let logger = options.bootstrapLogging(defaultLevel: .warning)
        let core = try options.makeCore(logger: logger)
        let client = InProcessClient(core: core)
        let params = Array(#"{"name":"#.utf8) + JSONString.encode(tool) + Array(#","arguments":"#.utf8) + Array(arguments.utf8) + [UInt8(ascii: "}")]
        let response = await client.request("tools/call", params: params)
        client.close()
        await core.shutdown()
        await core.registry.shutdown(logger: logger)

        let object = (try? JSONSerialization.jsonObject(with: Data(response.bytes))) as? [String: Any] ?? [:]
        if let error = object["error"] as? [String: Any] {
            FileHandle.standardError.write(Data("error \(error["code"] ?? "?"): \(error["message"] ?? "")\n".utf8))
            throw ExitCode(2)
        }
        let result = object["result"] as? [String: Any] ?? [:]
        let content = result["content"] as? [[String: Any]] ?? []
        for item in content {
            if item["type"] as? String == "text", let text = item["text"] as? String {
                print(text)
            } else if let data = try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys]) {
                print(String(decoding: data, as: UTF8.self))
            }
        }
        if content.isEmpty, let data = try? JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
        if result["isError"] as? Bool == true { throw ExitCode(1) }
    }
}
