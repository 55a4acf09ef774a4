import Foundation
import Testing
@testable import CLIDiscovery

/// A value given for one schema property must reach the tool as that option's value, never as an
/// option of its own (the schema would then let a client pass flags it never offered).
@Suite struct ValueSmugglingTests {
    private func tool(_ help: String) throws -> ToolDefinition {
        let page = try #require(HelpParser.parse(help))
        return ToolBuilder.tool(command: "t", path: [], page: page)
    }

    private static let help = """
        usage: t [options]

        options:
            -S[<keyid>]           sign, with an optional key id
            -C [<what>]           context, optional value
            -o <file>             output file
            --color[=<when>]      colorize
            --name <name>         a name
            -v, --verbose <lvl>   verbosity (maybe a switch the parser misread)
        """

    @Test func shortOnlyOptionalValueIsAttachedNeverASeparateWord() throws {
        let t = try tool(Self.help)
        #expect(t.flags["S"]?.spelling == "-S=")
        let argv = try ArgumentBuilder.argv(for: t, arguments: ["S": "--output=/home/u/.bashrc"])
        // One word: the optional value is attached, so the tool reads it as the key id (or refuses
        // it), never as `--output`: short values are attached without `=` (getopt reads `=` as
        // part of the value).
        #expect(argv.count == 1)
        #expect(argv == ["-S--output=/home/u/.bashrc"])
        #expect(try ArgumentBuilder.argv(for: t, arguments: ["S": ""]) == ["-S"])

        #expect(t.flags["C"]?.spelling == "-C=")  // `-C [<n>]`: optional too, though printed apart
        #expect(try ArgumentBuilder.argv(for: t, arguments: ["C": "-rf"]).count == 1)
    }

    @Test func longValuesAreAlwaysAttached() throws {
        let t = try tool(Self.help)
        #expect(try ArgumentBuilder.argv(for: t, arguments: ["color": "--exec=x"]) == ["--color=--exec=x"])
        #expect(try ArgumentBuilder.argv(for: t, arguments: ["name": "--output=x"]) == ["--name=--output=x"])
        // If `--verbose` is really a switch, the tool refuses `--verbose=...` instead of reading
        // the value as a further option.
        #expect(try ArgumentBuilder.argv(for: t, arguments: ["verbose": "--output=x"]) == ["--verbose=--output=x"])
    }

    @Test func shortRequiredValueStaysTheNextWord() throws {
        // `-o FILE`: every parser takes the next word as the value, whatever it looks like (and
        // Go's flag package does not read `-oFILE`).
        let t = try tool(Self.help)
        #expect(try ArgumentBuilder.argv(for: t, arguments: ["o": "--x"]) == ["-o", "--x"])
    }

    @Test func gitCommitGpgSignFromTheFixture() throws {
        let page = try Fixtures.page("git_commit.txt")
        let t = ToolBuilder.tool(command: "git", path: ["commit"], page: page)
        #expect(try ArgumentBuilder.argv(for: t, arguments: ["gpg_sign": "--output=x"]) == ["commit", "--gpg-sign=--output=x"])
        #expect(try ArgumentBuilder.argv(for: t, arguments: ["message": "--amend"]) == ["commit", "--message=--amend"])
    }

    @Test func possibleValuesBecomeAnEnum() throws {
        let clap = ToolBuilder.tool(command: "rustup", path: ["toolchain", "install"],
                                    page: try Fixtures.page("clap_rustup_toolchain_install.txt"))
        #expect(try properties(of: clap)["profile"]?["enum"] as? [String] == ["minimal", "default", "complete"])

        let cargo = ToolBuilder.tool(command: "cargo", path: ["build"], page: try Fixtures.page("clap_cargo_build.txt"))
        #expect(try properties(of: cargo)["color"]?["enum"] as? [String] == ["auto", "always", "never"])
        #expect((try properties(of: cargo)["message_format"]?["enum"] as? [String])?.last == "json-render-diagnostics")  // wrapped list

        let argparse = ToolBuilder.tool(command: "argparse_tool", path: ["build"], page: try Fixtures.page("argparse_build.txt"))
        #expect(try properties(of: argparse)["format"]?["enum"] as? [String] == ["html", "json"])

        let click = ToolBuilder.tool(command: "click_tool.py", path: ["deploy"], page: try Fixtures.page("click_deploy.txt"))
        #expect(try properties(of: click)["format"]?["enum"] as? [String] == ["json", "text"])

        // A free-form value has none.
        #expect(try properties(of: click)["name"]?["enum"] == nil)
    }
}
