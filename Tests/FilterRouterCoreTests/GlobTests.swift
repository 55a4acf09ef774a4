import Testing
@testable import FilterRouterCore

@Suite struct GlobTests {
    @Test func starMatchesAnyRunIncludingNone() {
        let glob = Glob("git__log*")
        #expect(glob.matches("git__log"))
        #expect(glob.matches("git__log_all"))
        #expect(!glob.matches("git__lo"))
        #expect(!glob.matches("xgit__log"))
        #expect(Glob("*push*").matches("git__push"))
        #expect(Glob("*push*").matches("push"))
        #expect(!Glob("*push*").matches("git__pul"))
        #expect(Glob("*").matches(""))
        #expect(Glob("*").matches("file:///a/b c"), "* crosses / and spaces")
    }

    @Test func questionMarkIsExactlyOneCharacter() {
        #expect(Glob("v?").matches("v1"))
        #expect(!Glob("v?").matches("v"))
        #expect(!Glob("v?").matches("v12"))
        #expect(Glob("caf?").matches("café"), "one Unicode scalar, not one byte")
    }

    @Test func literalsAreExactAndCaseSensitive() {
        #expect(Glob("git__status").matches("git__status"))
        #expect(!Glob("git__status").matches("git__Status"))
        #expect(!Glob("git__status").matches("git__status2"))
        #expect(!Glob("").matches("a"))
    }

    @Test func backslashEscapesWildcards() {
        #expect(Glob(#"a\*"#).matches("a*"))
        #expect(!Glob(#"a\*"#).matches("ab"))
        #expect(Glob(#"a\?"#).matches("a?"))
        #expect(!Glob(#"a\?"#).matches("ab"))
        #expect(Glob(#"a\"#).matches(#"a\"#), "a trailing backslash is literal")
    }

    @Test func backtracksAcrossSeveralStars() {
        #expect(Glob("a*b*c").matches("aXbYbZc"))
        #expect(!Glob("a*b*c").matches("aXbYbZ"))
        #expect(Glob("*a*a*a*").matches("banana a"))
        // Many stars over a long non-matching text: bounded work, no recursion.
        let hostile = Glob(String(repeating: "*a", count: 50) + "b")
        #expect(!hostile.matches(String(repeating: "a", count: 5000)))
    }
}
