import Foundation
import Testing
@testable import CLIDiscovery

@Suite struct ArgumentBuilderTests {
    private let tool = ToolDefinition(
        name: "tool_run", path: ["run"], description: "", inputSchema: #"{"type":"object","properties":{},"required":["name"]}"#,
        flags: [
            "name": FlagSpelling(spelling: "--name", kind: .string),
            "dry_run": FlagSpelling(spelling: "--dry-run", kind: .flag),
            "count": FlagSpelling(spelling: "-n", kind: .integer),
            "ratio": FlagSpelling(spelling: "--ratio", kind: .number),
            "tag": FlagSpelling(spelling: "--tag", kind: .string, repeatable: true),
            "abbrev": FlagSpelling(spelling: "--abbrev=", kind: .integer),
        ],
        fixedArgs: ["--no-color"])

    private func error(_ arguments: [String: Any]) -> ArgumentError? {
        do {
            _ = try ArgumentBuilder.argv(for: tool, arguments: arguments)
            return nil
        } catch let error as ArgumentError {
            return error
        } catch {
            return nil
        }
    }

    @Test func orderIsPathFixedFlagsSortedThenArgs() throws {
        let argv = try ArgumentBuilder.argv(for: tool, arguments: [
            "args": "a 'b c'", "tag": ["x", "y"], "name": "n1", "dry_run": true, "count": 3, "ratio": 0.5,
        ])
        #expect(argv == ["run", "--no-color", "-n", "3", "--dry-run", "--name", "n1", "--ratio", "0.5",
                         "--tag", "x", "--tag", "y", "a", "b c"])
    }

    @Test func falseOmitsTheFlagAndNullIsAbsent() throws {
        #expect(try ArgumentBuilder.argv(for: tool, arguments: ["name": "a", "dry_run": false, "count": NSNull()])
            == ["run", "--no-color", "--name", "a"])
    }

    @Test func optionalValuesAreAttached() throws {
        #expect(try ArgumentBuilder.argv(for: tool, arguments: ["name": "a", "abbrev": 7]).contains("--abbrev=7"))
        let attached = ToolDefinition(name: "t", path: [], description: "", inputSchema: "{}",
                                      flags: ["message": FlagSpelling(spelling: "--message=", kind: .string),
                                              "sign": FlagSpelling(spelling: "-S=", kind: .string)],
                                      fixedArgs: [])
        #expect(try ArgumentBuilder.argv(for: attached, arguments: ["message": ""]) == ["--message="],
                "an empty value stays attached: a bare --message would take the next word")
        #expect(try ArgumentBuilder.argv(for: attached, arguments: ["sign": "KEY"]) == ["-SKEY"], "short values attach without =")
    }

    @Test func valuesThatLookLikeFlagsStayValues() throws {
        let argv = try ArgumentBuilder.argv(for: tool, arguments: ["name": "--delete-everything"])
        #expect(argv == ["run", "--no-color", "--name", "--delete-everything"])
    }

    @Test func unknownKeyIsRefusedNamingTheAllowedOnes() throws {
        let e = try #require(error(["name": "a", "force": true]))
        #expect(e.code == .unknownKey)
        #expect(e.message == "unknown argument 'force' for tool tool_run; allowed: abbrev, args, count, dry_run, name, ratio, tag")
    }

    @Test func wrongTypesAreRefused() throws {
        #expect(error(["name": "a", "dry_run": "yes"])?.code == .wrongType)
        #expect(error(["name": "a", "dry_run": 1])?.code == .wrongType)
        #expect(error(["name": "a", "count": 1.5])?.code == .wrongType)
        #expect(error(["name": "a", "count": "3"])?.code == .wrongType)
        #expect(error(["name": true])?.code == .wrongType)
        #expect(error(["name": ["a"]])?.code == .wrongType)
        #expect(error(["name": "a", "tag": [1, ["x"]]])?.code == .wrongType)
        #expect(error(["name": "a", "args": 5])?.code == .wrongType)
        #expect(error(["name": "a", "count": true])?.message
            == "argument 'count' of tool tool_run must be an integer, got a boolean")
    }

    @Test func missingRequiredIsRefused() throws {
        let e = try #require(error(["dry_run": true]))
        #expect(e.code == .missingRequired)
        #expect(e.message.contains("'name'"))
    }

    @Test func unbalancedQuotesInArgsAreRefused() throws {
        let e = try #require(error(["name": "a", "args": "it's"]))
        #expect(e.code == .unbalancedQuotes)
    }

    @Test func argumentsDecodedByJSONSerialization() throws {
        let json = #"{"name":"a","dry_run":true,"count":2,"ratio":1,"tag":["t"],"args":"x"}"#
        let arguments = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(try ArgumentBuilder.argv(for: tool, arguments: arguments)
            == ["run", "--no-color", "-n", "2", "--dry-run", "--name", "a", "--ratio", "1", "--tag", "t", "x"])
        let bad = try #require(try JSONSerialization.jsonObject(with: Data(#"{"name":"a","dry_run":1}"#.utf8)) as? [String: Any])
        #expect(throws: ArgumentError.self) { try ArgumentBuilder.argv(for: tool, arguments: bad) }
        let badInt = try #require(try JSONSerialization.jsonObject(with: Data(#"{"name":"a","count":false}"#.utf8)) as? [String: Any])
        #expect(throws: ArgumentError.self) { try ArgumentBuilder.argv(for: tool, arguments: badInt) }
    }

    @Test func argsAsAnArrayIsTakenWordForWord() throws {
        #expect(try ArgumentBuilder.argv(for: tool, arguments: ["name": "a", "args": ["it's", "a b"]]).suffix(2) == ["it's", "a b"])
    }

    @Test func endToEndFromAFixture() throws {
        let page = try Fixtures.page("argparse_build.txt")
        let built = ToolBuilder.tool(command: "argparse_tool", path: ["build"], page: page)
        let argv = try ArgumentBuilder.argv(for: built, arguments: [
            "output": "out dir", "count": 2, "include": ["*.md", "*.txt"], "drafts": true, "args": "src \"extra file\"",
        ])
        #expect(argv == ["build", "--count=2", "--drafts", "--include=*.md", "--include=*.txt",
                         "--output=out dir", "src", "extra file"])
        #expect(throws: ArgumentError.self) { try ArgumentBuilder.argv(for: built, arguments: ["args": "src"]) }  // --output required
        #expect(throws: ArgumentError.self) {
            try ArgumentBuilder.argv(for: built, arguments: ["output": "o", "help": true])
        }
    }
}
