import Testing
@testable import CLIDiscovery

/// Shapes of option lines and prose that the fixtures do not all cover.
@Suite struct HelpParserEdgeTests {
    private func page(_ text: String) throws -> HelpPage {
        try #require(HelpParser.parse(text))
    }

    @Test func nothingRecognisableIsNil() {
        #expect(HelpParser.parse("") == nil)
        #expect(HelpParser.parse("Hello.\nThis tool has no help, sorry.\n") == nil)
        #expect(HelpParser.parse("error: unknown flag --help\n") == nil)
    }

    @Test func optionSpellings() throws {
        let p = try page("""
        Options:
            -q, --[no-]quiet          suppress diff output
          -o, --output=FILE         write to FILE
          --format <FMT>            output format
          -n NUM                    how many
          --level LEVEL             the level (default: 2)
          --ratio=RATIO             the ratio [default: 0.5]
          -x                        short only
          -I, --include <DIR>...    add a directory
          --tag TAG                 a tag (may be given multiple times)
          --token TOKEN             API token (required)
          --abbrev[=<n>]            abbreviate

        """)
        let quiet = try #require(p.option("--quiet"))  // `--[no-]quiet` -> `--quiet`
        #expect(quiet.short == "-q")
        #expect(quiet.kind == .flag)
        #expect(p.option("--output")?.valueName == "FILE")
        #expect(p.option("--output")?.short == "-o")
        #expect(p.option("--format")?.valueName == "<FMT>")
        #expect(p.option("-n")?.kind == .integer)
        #expect(p.option("--level")?.kind == .integer)
        #expect(p.option("--ratio")?.kind == .number)
        #expect(p.option("-x")?.kind == .flag)
        #expect(p.option("--include")?.repeatable == true)
        #expect(p.option("--tag")?.repeatable == true)
        #expect(p.option("--token")?.required == true)
        #expect(p.option("--format")?.required == false)
        #expect(p.option("--abbrev")?.valueName == "[=<n>]")
        #expect(p.option("--abbrev")?.kind == .integer)
        #expect(p.options.count == 11)
    }

    @Test func proseIsNeverAnOptionOrACommand() throws {
        let p = try page("""
        usage: tool [options] FILE

        Options:
          -v, --verbose   be chatty
          --dry-run is the default when no FILE is given; pass --force to change it.
          - a bullet point that mentions --force
          -1 means unlimited for every counter

        Notes:
          run  this would look like a command, but Notes is prose
          --not-an-option  because Notes is prose too

        The fine print
          Some text at two spaces that reads like prose.
          See tool(1)  for details.
        """)
        #expect(p.options.compactMap { $0.long ?? $0.short } == ["--verbose"])
        #expect(p.subcommands.isEmpty)
        #expect(p.positionals == [Positional(name: "FILE", required: true)])
    }

    @Test func wrappedDescriptionsJoin() throws {
        let p = try page("""
        Options:
          --color <WHEN>
                  Coloring of the output. This description wraps
                  onto a second line.

                  [possible values: auto, always, never]

          --list  List things that wrap
                  over two lines
        Commands:
          build    Compile the current package and
                   all of its dependencies
          test     Run the tests
        """)
        #expect(p.option("--color")?.summary
            == "Coloring of the output. This description wraps onto a second line. [possible values: auto, always, never]")
        #expect(p.option("--list")?.summary == "List things that wrap over two lines")
        #expect(p.subcommands == [Subcommand(name: "build", summary: "Compile the current package and all of its dependencies"),
                                  Subcommand(name: "test", summary: "Run the tests")])
    }

    @Test func goFlagPackageStyle() throws {
        let p = try page("Usage of mytool:\n  -count int\n    \tnumber of items (default 3)\n  -name string\n    \tthe name\n  -v\tverbose output\n")
        #expect(p.option("-count")?.kind == .integer)
        #expect(p.option("-count")?.summary == "number of items (default 3)")
        #expect(p.option("-name")?.kind == .string)
        #expect(p.option("-v")?.kind == .flag)
        #expect(p.option("-v")?.summary == "verbose output")
    }

    @Test func kubectlStyleDefaultsInTheHead() throws {
        let p = try page("""
        Display one or many resources.

        Options:
            -A, --all-namespaces=false:
        \tIf present, list the requested object(s) across all namespaces.

            --chunk-size=500:
        \tReturn large lists in chunks rather than all at once.

            -o, --output='':
        \tOutput format.

            -L, --label-columns=[]:
        \tAccepts a comma separated list of labels.

        Usage:
          kubectl get [(-o|--output=)json|yaml] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags] [options]
        """)
        #expect(p.summary == "Display one or many resources.")
        #expect(p.option("--all-namespaces")?.kind == .flag)
        #expect(p.option("--all-namespaces")?.summary == "If present, list the requested object(s) across all namespaces.")
        #expect(p.option("--chunk-size")?.kind == .integer)
        #expect(p.option("--output")?.kind == .string)
        #expect(p.option("--label-columns")?.repeatable == true)
        #expect(p.options.count == 4)
    }

    @Test func controlSequencesAndLineEndingsAreCleaned() throws {
        let bold = "--quiet".map { "\($0)\u{08}\($0)" }.joined()  // man-page overstrike
        let p = try page("\u{1B}[1mUsage:\u{1B}[0m tool [OPTIONS]\r\n\r\n\u{1B}[1mOptions:\u{1B}[0m\r\n  -v, --verbose\tMore output\r\n  \(bold)  Less output\r\n")
        #expect(p.usage == "tool [OPTIONS]")
        #expect(p.option("--verbose")?.summary == "More output")
        #expect(p.option("--quiet")?.summary == "Less output")
    }

    @Test func capitalisedHeadingsAndRequiredInUsage() throws {
        let p = try page("""
        USAGE:
            tool --name <NAME> [OPTIONS] <INPUT>

        ARGS:
            <INPUT>    The input file

        OPTIONS:
            -n, --name <NAME>    Who to greet
            -c, --count <N>      How often

        SUBCOMMANDS:
            greet    Say hello
        """)
        #expect(p.option("--name")?.required == true)  // outside brackets in the usage
        #expect(p.option("--count")?.required == false)
        #expect(p.option("--count")?.kind == .integer)
        #expect(p.positionals == [Positional(name: "INPUT", required: true, summary: "The input file")])
        #expect(p.subcommands == [Subcommand(name: "greet", summary: "Say hello")])
    }

    @Test func hugeInputIsBounded() {
        let text = "Options:\n" + (0..<20_000).map { "  --opt-\($0)  description \($0)\n" }.joined()
        let p = HelpParser.parse(text)
        #expect(p?.options.count == HelpTextParser.maxEntries)
        #expect(p?.options.first?.long == "--opt-0")
    }
}
