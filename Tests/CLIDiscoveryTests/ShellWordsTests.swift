import Testing
@testable import CLIDiscovery

@Suite struct ShellWordsTests {
    @Test func plainWordsSplitOnWhitespace() throws {
        #expect(try ShellWords.split("  a  b\tc\nd ") == ["a", "b", "c", "d"])
        #expect(try ShellWords.split("") == [])
        #expect(try ShellWords.split("   ") == [])
    }

    @Test func singleQuotesAreLiteral() throws {
        #expect(try ShellWords.split(#"'a b' 'c\d' '$HOME' '"'"#) == ["a b", #"c\d"#, "$HOME", "\""])
    }

    @Test func doubleQuotesEscapeOnlyTheirSpecials() throws {
        #expect(try ShellWords.split(#""a \"b\" \\ \$x \`y\` \n""#) == [#"a "b" \ $x `y` \n"#])
        #expect(try ShellWords.split(#""it's""#) == ["it's"])
    }

    @Test func backslashOutsideQuotes() throws {
        #expect(try ShellWords.split(#"a\ b c\'d \\"#) == ["a b", "c'd", "\\"])
        #expect(try ShellWords.split("a\\\nb") == ["ab"])  // line continuation
    }

    @Test func emptyQuotedWordsAndAdjacentPartsJoin() throws {
        #expect(try ShellWords.split(#"'' "" x"#) == ["", "", "x"])
        #expect(try ShellWords.split(#"--name='a b'"c"d"#) == ["--name=a bcd"])
    }

    @Test func nothingIsExpanded() throws {
        #expect(try ShellWords.split("$HOME ~ *.txt $(rm -rf /) `id` a;b | c && d > e") ==
            ["$HOME", "~", "*.txt", "$(rm", "-rf", "/)", "`id`", "a;b", "|", "c", "&&", "d", ">", "e"])
    }

    @Test func unicodeIsKept() throws {
        #expect(try ShellWords.split("héllo 'wörld ✓'") == ["héllo", "wörld ✓"])
    }

    @Test(arguments: ["'open", "\"open", "a 'b\"", "\"a \\\"", "trailing\\"])
    func unbalancedIsAnError(text: String) {
        #expect(throws: ArgumentError.self) { try ShellWords.split(text) }
        do {
            _ = try ShellWords.split(text)
        } catch let error as ArgumentError {
            #expect(error.code == .unbalancedQuotes)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
