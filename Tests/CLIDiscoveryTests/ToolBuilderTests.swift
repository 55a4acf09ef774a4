import Foundation
import Testing
@testable import CLIDiscovery

@Suite struct ToolBuilderTests {
    @Test func names() {
        #expect(ToolBuilder.toolName(command: "git", path: ["log"]) == "git_log")
        #expect(ToolBuilder.toolName(command: "/usr/bin/git", path: []) == "git")
        #expect(ToolBuilder.toolName(command: "docker", path: ["container", "ls"]) == "docker_container_ls")
        #expect(ToolBuilder.toolName(command: "./my tool", path: ["roll-back", "a+b"]) == "my_tool_roll-back_a_b")
        #expect(ToolBuilder.toolName(command: "click_tool.py", path: ["deploy"]) == "click_tool.py_deploy")
    }

    @Test func longNamesAreCutToSixtyFourAndStayDistinct() {
        let a = ToolBuilder.toolName(command: "tool", path: [String(repeating: "a", count: 80), "one"])
        let b = ToolBuilder.toolName(command: "tool", path: [String(repeating: "a", count: 80), "two"])
        #expect(a.count == 64)
        #expect(b.count == 64)
        #expect(a != b)
        #expect(a.hasPrefix("tool_aaaa"))
    }

    @Test func schemaFromClickSubcommand() throws {
        let page = try Fixtures.page("click_deploy.txt")
        let tool = ToolBuilder.tool(command: "/opt/bin/click_tool.py", path: ["deploy"], page: page)
        #expect(tool.name == "click_tool.py_deploy")
        #expect(tool.path == ["deploy"])
        #expect(tool.fixedArgs == [])
        #expect(tool.description.hasPrefix("Deploy the service to TARGET."))
        #expect(tool.description.contains("click_tool.py deploy [OPTIONS] TARGET [FILES]..."))

        let schema = try schema(of: tool)
        #expect(schema["type"] as? String == "object")
        #expect(schema["additionalProperties"] as? Bool == false)
        #expect(schema["required"] as? [String] == ["name"])
        let props = try properties(of: tool)
        #expect(Set(props.keys) == ["name", "replicas", "ratio", "tag", "format", "dry_run", "verbose", "args"])
        #expect(props["name"]?["type"] as? String == "string")
        #expect(props["replicas"]?["type"] as? String == "integer")
        #expect(props["ratio"]?["type"] as? String == "number")
        #expect(props["dry_run"]?["type"] as? String == "boolean")
        #expect(props["tag"]?["type"] as? String == "array")
        #expect((props["tag"]?["items"] as? [String: Any])?["type"] as? String == "string")
        #expect(props["args"]?["type"] as? String == "string")
        #expect((props["args"]?["description"] as? String)?.contains("Expected: TARGET; [FILES]") == true)
        #expect(props["help"] == nil)

        #expect(tool.flags["dry_run"] == FlagSpelling(spelling: "--dry-run", kind: .flag))
        #expect(tool.flags["tag"] == FlagSpelling(spelling: "--tag=", kind: .string, repeatable: true))
        #expect(tool.flags["args"] == nil)
    }

    @Test func helpAndVersionAreNotProperties() throws {
        let page = try Fixtures.page("clap_rustup_root.txt")
        let tool = ToolBuilder.tool(command: "rustup", path: [], page: page)
        let props = try properties(of: tool)
        #expect(Set(props.keys) == ["verbose", "quiet", "args"])
        #expect(tool.name == "rustup")
    }

    @Test func shortOnlyAndOptionalValueSpellings() throws {
        let page = try Fixtures.page("git_commit.txt")
        let tool = ToolBuilder.tool(command: "git", path: ["commit"], page: page)
        #expect(tool.flags["gpg_sign"]?.spelling == "--gpg-sign=")  // `-S, --gpg-sign[=<key-id>]`
        #expect(tool.flags["message"]?.spelling == "--message=")  // values always attached to long spellings

        let plain = ToolBuilder.tool(command: "tool", path: [], page: try Fixtures.page("plain_usage.txt"))
        #expect(plain.flags["v"] == FlagSpelling(spelling: "-v", kind: .flag))
        #expect(plain.flags["n"] == FlagSpelling(spelling: "-n", kind: .integer))
        #expect(try properties(of: plain)["n"]?["type"] as? String == "integer")
    }

    @Test func descriptionFallsBackToTheParentsSummary() throws {
        let page = try Fixtures.page("git_log.txt")
        let tool = ToolBuilder.tool(command: "git", path: ["log"], page: page, summary: "Show commit logs")
        #expect(tool.description.hasPrefix("Show commit logs\n\ngit log [<options>]"))
        let bare = ToolBuilder.tool(command: "git", path: ["log"], page: nil)
        #expect(bare.description == "Run `git log`.")
    }

    @Test func pageNilTakesOnlyArgs() throws {
        let tool = ToolBuilder.tool(command: "mytool", path: ["sub"], page: nil, summary: "Does a thing")
        #expect(tool.name == "mytool_sub")
        #expect(tool.description == "Does a thing")
        #expect(tool.flags.isEmpty)
        #expect(Set(try properties(of: tool).keys) == ["args"])
        #expect(try schema(of: tool)["required"] == nil)
    }

    @Test func collidingPropertyNamesKeepBothOptions() throws {
        var page = HelpPage()
        page.options = [
            Option(long: "--dry-run", kind: .flag, summary: "a"),
            Option(long: "--dry_run", kind: .string, summary: "b"),
            Option(long: "--args", kind: .string, summary: "c"),
            Option(long: "--dry-run", kind: .flag, summary: "listed twice"),
        ]
        let tool = ToolBuilder.tool(command: "t", path: [], page: page)
        #expect(tool.flags["dry_run"]?.spelling == "--dry-run")
        #expect(tool.flags["dry_run_opt"]?.spelling == "--dry_run=")
        #expect(tool.flags["args_opt"]?.spelling == "--args=")
        #expect(tool.flags.count == 3)
        #expect(Set(try properties(of: tool).keys) == ["dry_run", "dry_run_opt", "args_opt", "args"])
    }

    @Test func schemaTextIsValidJSONEvenWithQuotesAndControlCharacters() throws {
        var page = HelpPage(summary: "Say \"hi\"\\ now")
        page.options = [Option(long: "--x", kind: .string, summary: "tab\there \u{01} \"q\"")]
        let tool = ToolBuilder.tool(command: "t", path: [], page: page)
        let props = try properties(of: tool)
        #expect(props["x"]?["description"] as? String == "tab\there \u{01} \"q\" (--x)")
    }

    @Test func definitionsRoundTripThroughCodable() throws {
        let tool = ToolBuilder.tool(command: "git", path: ["log"], page: try Fixtures.page("git_log.txt"))
        let data = try JSONEncoder().encode(tool)
        #expect(try JSONDecoder().decode(ToolDefinition.self, from: data) == tool)
    }
}
