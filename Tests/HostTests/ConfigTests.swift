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

    @Test func httpEntriesAreCheckedWithoutQuotingSecrets() throws {
        let secret = "s3cr3t-value"
        let dir = try directory(["servers.json": #"""
        {"mcpServers": {
          "ok": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}, "connect_timeout": "5s", "max_connections": 16, "request_timeout": "2s"},
          "sse": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
          "num": {"url": 5},
          "scheme": {"url": "ftp://example.com/${TOKEN}"},
          "hdr": {"url": "http://h/mcp", "headers": {"X-Key": 1}},
          "crlf": {"url": "http://h/mcp", "headers": {"X-Key": "a\r\nInjected: ${TOKEN}"}},
          "ct": {"url": "http://h/mcp", "connect_timeout": "soon"},
          "mc": {"url": "http://h/mcp", "max_connections": 0},
          "rt": {"command": "x", "request_timeout": "-1s"},
          "leak": {"url": "http://h/mcp", "connect_timeout": "${TOKEN}"}
        }}
        """#])
        let config = try ConfigLoader(environment: ["TOKEN": secret]).load(file: dir + "/servers.json", directory: nil)
        #expect(config.servers.map(\.name) == ["ok", "sse"])
        #expect(config.servers.map(\.transport) == ["http", "http"])
        let ok = try #require(config.servers.first)
        #expect(ok.requestTimeout == 2)
        #expect(try object(ok)["request_timeout"] == nil, "the host's key is not passed to the transport")
        #expect(try object(config.servers[1])["type"] as? String == "sse", "the plugin still learns it is legacy SSE")
        let messages = config.problems.map(\.description)
        #expect(config.problems.map { $0.server ?? "" }.sorted() == ["crlf", "ct", "hdr", "leak", "mc", "num", "rt", "scheme"])
        #expect(messages.contains { $0.contains("server 'leak': \"connect_timeout\": '(a value from the environment)'") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'num': \"url\": must be a string") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'scheme': \"url\": must be an http:// or https:// URL") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'hdr': \"headers.X-Key\": must be a string") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'crlf': \"headers.X-Key\": must not contain line breaks") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'ct': \"connect_timeout\"") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'mc': \"max_connections\"") }, "\(messages)")
        #expect(messages.contains { $0.contains("server 'rt': \"request_timeout\"") }, "\(messages)")
        #expect(!messages.contains { $0.contains(secret) }, "no error quotes a substituted secret: \(messages)")
    }

    @Test func pluginSectionsAreReadSubstitutedAndReplacedByLaterFiles() throws {
        let dir = try directory([
            "servers.json": #"{"plugins": {"mcph.filter": {"deny": ["${PATTERN}"]}, "mcph.alias": {"aliases": {"a__x": "x"}}}, "mcpServers": {"a": {"command": "a"}}}"#,
            "servers.d/10-more.json": #"{"plugins": {"mcph.alias": {"aliases": {"a__y": "y"}}}}"#,
            "servers.d/20-bad.json": #"{"plugins": {"mcph.bad": 5}}"#,
        ])
        let config = try ConfigLoader(environment: ["PATTERN": "*push*"]).load(file: dir + "/servers.json", directory: dir + "/servers.d")
        #expect(config.servers.map(\.name) == ["a"])
        #expect(String(decoding: try #require(config.pluginSettings["mcph.filter"]), as: UTF8.self) == #"{"deny":["*push*"]}"#)
        #expect(String(decoding: try #require(config.pluginSettings["mcph.alias"]), as: UTF8.self) == #"{"aliases":{"a__y":"y"}}"#,
                "a later file replaces a plugin's section")
        #expect(config.pluginSettings["mcph.bad"] == nil)
        #expect(config.problems.map(\.description).contains { $0.contains("20-bad.json: \"plugins.mcph.bad\": must be an object") },
                "\(config.problems)")
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

    @Test func shutdownGraceTakesADurationOrTheOlderMilliseconds() throws {
        let dir = try directory(["servers.json": #"""
            {"mcpServers": {
              "snake": {"command": "x", "shutdown_grace": "5s"},
              "number": {"command": "x", "shutdown_grace": 1.5},
              "camel": {"command": "x", "shutdownGraceMs": 2500},
              "subst": {"command": "x", "shutdown_grace": "${GRACE:-250ms}"},
              "none": {"command": "x"}
            }}
            """#])
        let config = try ConfigLoader(environment: [:]).load(file: dir + "/servers.json", directory: nil)
        #expect(config.problems.isEmpty, "\(config.problems)")
        let grace = try Dictionary(uniqueKeysWithValues: config.servers.map { ($0.name, try object($0)["shutdownGraceMs"] as? Int) })
        #expect(grace == ["snake": 5000, "number": 1500, "camel": 2500, "subst": 250, "none": nil])
        for server in config.servers {
            #expect(try object(server)["shutdown_grace"] == nil, "the transport gets one spelling: shutdownGraceMs")
        }
    }

    @Test(arguments: [
        (#""shutdown_grace": "nan""#, #""shutdown_grace": 'nan' is not a number"#),
        (#""shutdown_grace": "-1s""#, #""shutdown_grace": '-1s' is negative"#),
        (#""shutdown_grace": "1e30""#, #""shutdown_grace": '1e30' is too long; give a duration from 0s to 10m"#),
        (#""shutdown_grace": "11m""#, #""shutdown_grace": '11m' is too long"#),
        (#""shutdown_grace": true"#, #""shutdown_grace": must be a string such as "30s" or a number of seconds, not true/false"#),
        (#""shutdown_grace": "soon""#, #""shutdown_grace": 'soon' is not a duration"#),
        (#""shutdownGraceMs": 1e30"#, #""shutdownGraceMs": 1e+30 is out of range; give a whole number from 0 to 600000"#),
        (#""shutdownGraceMs": -5"#, #""shutdownGraceMs": -5 is too small"#),
        (#""shutdownGraceMs": 2.5"#, #""shutdownGraceMs": 2.5 is not a whole number"#),
        (#""shutdownGraceMs": "3000""#, #""shutdownGraceMs": must be a whole number from 0 to 600000, not a string"#),
        (#""shutdownGraceMs": 3000, "shutdown_grace": "3s""#, #""shutdown_grace": given together with "shutdownGraceMs""#),
    ])
    func aBadShutdownGraceDisablesTheServerWithItsRange(entry: String, message: String) throws {
        let dir = try directory(["servers.json": #"{"mcpServers": {"good": {"command": "ok"}, "bad": {"command": "x", "# + entry + "}}}"])
        let config = try ConfigLoader(environment: [:]).load(file: dir + "/servers.json", directory: nil)
        #expect(config.servers.map(\.name) == ["good"])
        let problem = try #require(config.problems.first).description
        #expect(problem.contains("server 'bad': " + message), "\(problem)")
    }
}
