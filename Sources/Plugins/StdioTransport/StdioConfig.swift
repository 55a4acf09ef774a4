import FoundationEssentials
import ProcessSupport

/// The stdio transport's part of a server's configuration (the host has substituted `${VAR}`s).
///
///     {"name": "time", "command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"},
///      "cwd": "/tmp", "shutdownGraceMs": 2000}
struct StdioConfig: Decodable {
    var name: String?
    var command: String
    var args: [String]?
    var env: [String: String]?
    var cwd: String?
    /// Time a backend gets to exit after its stdin closes, and again after SIGTERM.
    var shutdownGraceMs: Int?

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(SpawnError) -> StdioConfig {
        do {
            let config = try JSONDecoder().decode(StdioConfig.self, from: Data(bytes))
            guard !config.command.isEmpty else { throw SpawnError(description: "\"command\" is empty") }
            return config
        } catch let error as SpawnError {
            throw error
        } catch DecodingError.keyNotFound(let key, _) {
            throw SpawnError(description: "missing \"\(key.stringValue)\" (the program to start)")
        } catch DecodingError.typeMismatch(_, let context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw SpawnError(description: "\"\(path)\" has the wrong type: \(context.debugDescription)")
        } catch {
            throw SpawnError(description: "invalid configuration: \(error)")
        }
    }
}
