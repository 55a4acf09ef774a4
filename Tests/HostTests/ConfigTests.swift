import Foundation
import Testing
@testable import Host

@Suite struct ConfigTests {
    func directory(_ files: [String: String]) throws -> String {
        let dir = NSTemporaryDirectory() + "mcph-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/servers.d", withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    func object(_ server: ServerConfig) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(server.transportConfig)) as? [String: Any])
    }

    @Test func dropInsMergeInLexicalOrderLaterWins() throws {
        let dir = try directory([
            "servers.json": #"{"mcpServers": {"a": {"command": "one"}, "b": {"command": "b"}}}"#,
            "servers.d/20-late.json": #"{"mcpServers": {"a": {"command": "three"}}}"#,
            "servers.d/10-early.json": #"{"mcpServers": {"a": {"command": "two"}, "c": {"url": "http://127.0.0.1:1/mcp"}}}"#,
            "servers.d/notes.txt": "ignored",
        ])
        let config = try ConfigLoader(environment: [:]).load(file: dir + "/servers.json", directory: dir + "/servers.d")
        #expect(config.problems.isEmpty)
        #expect(config.servers.map(\.name) == ["a", "b", "c"])
        #expect(try object(config.servers[0])["command"] as? String == "three")
        #expect(config.servers[0].source.hasSuffix("20-late.json"))
        #expect(config.servers.map(\.transport) == ["stdio", "stdio", "http"])
        #expect(try object(config.servers[0])["name"] as? String == "a", "the transport learns the server's name")
    }

    @Test func substitutesVariablesWithDefaults() throws {
        let dir = try directory(["servers.json": #"{"mcpServers": {"s": {"command": "${BIN}", "args": ["${MODE:-fast}", "$${LITERAL}", "x${EMPTY:-d}y"], "env": {"TOKEN": "${TOKEN}"}}}}"#])
        let config = try ConfigLoader(environment: ["BIN": "/usr/bin/srv", "TOKEN": "t0k", "EMPTY": ""])
            .load(file: dir + "/servers.json", directory: nil)
        let server = try object(try #require(config.servers.first))
        #expect(server["command"] as? String == "/usr/bin/srv")
        #expect(server["args"] as? [String] == ["fast", "${LITERAL}", "xdy"])
        #expect((server["env"] as? [String: String])?["TOKEN"] == "t0k")
    }

    @Test func aBadServerIsDisabledWithAnErrorNamingFileServerAndKey() throws {
        let dir = try directory(["servers.json": #"{"mcpServers": {"good": {"command": "ok"}, "bad": {"command": "x", "args": "not-a-list"}, "unset": {"command": "${NOPE}"}, "what": {"foo": 1}, "off": {"command": "x", "disabled": true}}}"#])
        let config = try ConfigLoader(environment: [:]).load(file: dir + "/servers.json", directory: nil)
        #expect(config.servers.map(\.name) == ["good"])
        let messages = config.problems.map(\.description)
        #expect(messages.contains { $0.contains("servers.json: server 'bad': \"args\": must be an array of strings") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'unset': \"command\": environment variable NOPE is not set") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'what': cannot tell the transport") }, "\(messages)")
        #expect(config.problems.count == 3)
    }

    @Test func invalidMainFileIsAnErrorNamingIt() throws {
        let dir = try directory(["servers.json": #"{"mcpServers": {"a": }"#])
        #expect {
            try ConfigLoader(environment: [:]).load(file: dir + "/servers.json", directory: nil)
        } throws: { error in
            (error as? ConfigError)?.description.contains("servers.json: not valid JSON") == true
        }
    }

    @Test func serverNamesMustBeUsableAsPrefixes() throws {
        let dir = try directory(["servers.json": #"{"mcpServers": {"my server": {"command": "x"}, "a__b": {"command": "x"}}}"#])
        let config = try ConfigLoader(environment: [:]).load(file: dir + "/servers.json", directory: nil)
        #expect(config.servers.isEmpty)
        #expect(config.problems.count == 2)
        #expect(config.problems.allSatisfy { $0.description.contains("invalid server name") })
    }
}
