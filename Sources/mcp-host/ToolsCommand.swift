import ArgumentParser
import Foundation
import Host

struct ToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "Print the namespaced tool catalog of every configured backend.")

    @OptionGroup var options: CoreOptions

    @Flag(name: .customLong("json"), help: "Print the raw tools array as JSON.")
    var json = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let logger = options.bootstrapLogging(defaultLevel: .warning)
        let core = try options.makeCore(logger: logger)
        let client = InProcessClient(core: core)
        let response = await client.request("tools/list", params: nil)
        client.close()
        await core.shutdown()
        await core.registry.shutdown(logger: logger)
        guard let result = response.member("result"),
              let tools = try? response.scanner.member("tools", inObject: result.value) else {
            throw ValidationError("tools/list failed: \(String(decoding: response.bytes, as: UTF8.self))")
        }
        let raw = Data(response.scanner.slice(tools.value))
        if json {
            print(String(decoding: raw, as: UTF8.self))
            return
        }
        let list = (try? JSONSerialization.jsonObject(with: raw)) as? [[String: Any]] ?? []
        if list.isEmpty { print("no tools (is any server configured and reachable? see the log above)") }
        let width = list.map { ($0["name"] as? String ?? "").count }.max() ?? 0
        for tool in list {
            let name = tool["name"] as? String ?? "?"
            let description = (tool["description"] as? String ?? "").split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + description)
        }
    }
}
