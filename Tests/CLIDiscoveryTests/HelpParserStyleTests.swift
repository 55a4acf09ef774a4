import Testing
@testable import CLIDiscovery

/// Each common help style, read from real help text saved in Tests/Fixtures/cli-help.
@Suite struct HelpParserStyleTests {
    // MARK: Cobra

    @Test func cobraRootListsAvailableCommandsAndFlags() throws {
        let page = try Fixtures.page("cobra_cli_root.txt")
        #expect(page.summary == "Cobra is a CLI library for Go that empowers applications.")
        #expect(page.usage == "cobra-cli [command]")
        // `help` is Cobra's own help command, not a tool.
        #expect(page.subcommandNames == ["add", "completion", "init"])
        #expect(page.subcommands.first?.summary == "Add a command to a Cobra Application")
        let author = try #require(page.option("--author"))
        #expect(author.short == "-a")
        #expect(author.kind == .string)
        #expect(author.valueName == "string")
        #expect(author.summary == "author name for copyright attribution (default \"YOUR NAME\")")
        #expect(page.option("--viper")?.kind == .flag)
        #expect(page.positionals.isEmpty)
    }

    @Test func cobraSubcommandReadsLocalAndGlobalFlagsButNotAliases() throws {
        let page = try Fixtures.page("cobra_cli_add.txt")
        #expect(page.subcommands.isEmpty)  // "Aliases:\n  add, command" is not a command list
        #expect(page.option("--parent")?.kind == .string)
        #expect(page.option("--license")?.short == "-l")
        #expect(page.options.compactMap(\.long) == ["--help", "--parent", "--author", "--config", "--license", "--viper"])
        #expect(page.summary?.hasPrefix("Add (cobra add) will create a new command") == true)
    }

    @Test func dockerGroupsEveryCommandSectionAndTypesIntFlags() throws {
        let root = try Fixtures.page("cobra_docker_root.txt")
        #expect(root.summary == "A self-sufficient runtime for containers")
        #expect(root.subcommandNames.prefix(3) == ["run", "exec", "ps"])       // Common Commands
        #expect(root.subcommandNames.contains("container"))                    // Management Commands
        #expect(root.subcommandNames.contains("swarm"))                        // Swarm Commands
        #expect(root.subcommandNames.last == "wait")                           // Commands
        #expect(root.subcommands.count == 57)
        let host = try #require(root.option("--host"))
        #expect(host.repeatable)  // pflag `list`
        #expect(host.kind == .string)

        let ls = try Fixtures.page("cobra_docker_container_ls.txt")
        #expect(ls.summary == "List containers")
        let last = try #require(ls.option("--last"))
        #expect(last.kind == .integer)
        #expect(last.short == "-n")
        #expect(ls.option("--no-trunc")?.kind == .flag)
        // The wrapped --format description is one summary, not options or commands.
        let format = try #require(ls.option("--format"))
        #expect(format.summary.contains("'table TEMPLATE': Print output in table format using the given Go template"))
        #expect(ls.options.count == 8)
        #expect(ls.subcommands.isEmpty)
    }

    // MARK: Clap

    @Test func clapRootIgnoresProseAfterTheLists() throws {
        let page = try Fixtures.page("clap_rustup_root.txt")
        #expect(page.summary == "The Rust toolchain installer")  // not the version line
        #expect(page.subcommands.count == 17)
        #expect(page.subcommandNames.first == "install")
        #expect(!page.subcommandNames.contains("help"))
        // "Common commands:" is followed by prose and examples, never commands.
        #expect(!page.subcommandNames.contains("Update"))
        #expect(page.positionals == [Positional(name: "+toolchain", required: false,
                                                summary: "Release channel (e.g. +stable) or custom toolchain to set override")])
        #expect(page.option("--verbose")?.kind == .flag)
    }

    @Test func clapSubcommandValuesPossibleValuesAndArguments() throws {
        let page = try Fixtures.page("clap_rustup_toolchain_install.txt")
        #expect(page.usage == "rustup[EXE] toolchain install [OPTIONS] [TOOLCHAIN]...")
        let profile = try #require(page.option("--profile"))
        #expect(profile.valueName == "<PROFILE>")
        #expect(profile.kind == .string)
        #expect(profile.summary == "[possible values: minimal, default, complete]")
        #expect(page.option("--no-self-update")?.summary
            == "Don't perform self update when running the `rustup toolchain install` command")
        #expect(page.positionals.map(\.name) == ["TOOLCHAIN"])
        #expect(page.positionals.first?.required == false)
    }

    @Test func clapCargoAliasesRepeatsIntegersAndOptionalValues() throws {
        let root = try Fixtures.page("clap_cargo_root.txt")
        #expect(root.subcommandNames.prefix(4) == ["build", "check", "clean", "doc"])  // `build, b`
        #expect(!root.subcommandNames.contains("b"))
        #expect(!root.subcommandNames.contains("..."))
        #expect(root.option("--verbose")?.repeatable == true)  // `-v, --verbose...`
        #expect(root.option("-C")?.valueName == "<DIRECTORY>")

        let build = try Fixtures.page("clap_cargo_build.txt")
        #expect(build.option("--jobs")?.kind == .integer)  // `<N>`
        #expect(build.option("--bin")?.valueName == "[=<NAME>]")  // `--bin [<NAME>]`: value optional
        #expect(build.option("--message-format")?.summary.hasSuffix("json-render-diagnostics]") == true)
        #expect(build.option("--release")?.short == "-r")
        #expect(build.options.count == 39)
    }

    // MARK: Click

    @Test func clickRootCommandsAndNegatableFlag() throws {
        let page = try Fixtures.page("click_root.txt")
        #expect(page.summary == "Manage deployments of the demo service.")
        #expect(page.subcommands == [
            Subcommand(name: "deploy", summary: "Deploy the service to TARGET."),
            Subcommand(name: "roll-back", summary: "Roll back to an earlier REVISION."),
            Subcommand(name: "status", summary: "Show the deployment status."),
        ])
        let debug = try #require(page.option("--debug"))  // `--debug / --no-debug`
        #expect(debug.kind == .flag)
        #expect(page.option("--no-debug") == nil)
        #expect(page.option("--config")?.valueName == "PATH")
    }

    @Test func clickSubcommandTypesRequiredAndRepeatable() throws {
        let page = try Fixtures.page("click_deploy.txt")
        let name = try #require(page.option("--name"))
        #expect(name.required)  // `[required]`
        #expect(name.kind == .string)
        #expect(page.option("--replicas")?.kind == .integer)  // INTEGER
        #expect(page.option("--replicas")?.required == false)
        #expect(page.option("--ratio")?.kind == .number)  // FLOAT
        #expect(page.option("--tag")?.repeatable == true)  // "(can be repeated)"
        #expect(page.option("--format")?.kind == .string)  // [json|text]
        #expect(page.option("--format")?.valueName == "[json|text]")
        #expect(page.option("--dry-run")?.summary
            == "Show what would be done without doing it. This description is long enough that Click wraps it onto a second line.")
        #expect(page.positionals == [Positional(name: "TARGET", required: true), Positional(name: "FILES", required: false)])
    }

    // MARK: argparse

    @Test func argparseSubparserChoices() throws {
        let page = try Fixtures.page("argparse_root.txt")
        #expect(page.summary == "Build and serve a static site.")
        #expect(page.subcommands == [
            Subcommand(name: "build", summary: "build the site into a directory"),
            Subcommand(name: "serve", summary: "serve the site over HTTP"),
            Subcommand(name: "clean", summary: "remove build outputs"),
        ])
        #expect(page.positionals.isEmpty)  // `{build,serve,clean}` is the subcommand, not an argument
        #expect(page.option("--quiet")?.kind == .flag)
    }

    @Test(arguments: ["argparse_build.txt", "argparse_build_py39.txt"])
    func argparseOptionsPositionalsAndTypes(fixture: String) throws {
        let page = try Fixtures.page(fixture)
        let output = try #require(page.option("--output"))  // `-o OUTPUT, --output OUTPUT`
        #expect(output.short == "-o")
        #expect(output.valueName == "OUTPUT")
        #expect(output.kind == .string)
        #expect(output.required)  // in usage without brackets
        #expect(page.option("--count")?.kind == .integer)  // "(default: 3)"
        #expect(page.option("--count")?.required == false)
        #expect(page.option("--jobs")?.kind == .integer)  // metavar N
        #expect(page.option("--scale")?.kind == .number)  // metavar FLOAT
        #expect(page.option("--include")?.repeatable == true)
        #expect(page.option("--include")?.summary == "glob of files to include; can be repeated, and this help is long enough to wrap")
        #expect(page.option("--format")?.valueName == "{html,json}")
        #expect(page.option("--no-cache")?.kind == .flag)
        #expect(page.positionals == [
            Positional(name: "source", required: true, summary: "the source directory"),
            Positional(name: "extra", required: false, summary: "extra files to include"),
        ])
        #expect(page.summary == "Build the site from SOURCE into the output directory.")
    }

    // MARK: git

    @Test func gitRootReadsCommandsUnderProseHeadings() throws {
        let page = try Fixtures.page("git_root.txt")
        #expect(page.subcommands.count == 22)
        #expect(page.subcommands.first == Subcommand(name: "clone", summary: "Clone a repository into a new directory"))
        #expect(page.subcommandNames.contains("log"))
        #expect(page.subcommandNames.last == "push")
        // Prose headings and the closing remarks are neither commands nor a summary.
        #expect(!page.subcommandNames.contains("start"))
        #expect(!page.subcommandNames.contains("These"))
        #expect(page.summary == nil)
        // No option list: the usage line's options are read instead.
        let gitDir = try #require(page.option("--git-dir"))
        #expect(gitDir.valueName == "<path>")
        #expect(page.option("-C")?.kind == .string)
        #expect(page.option("--version")?.short == "-v")  // `[-v | --version]`
    }

    @Test func gitLogShortHelp() throws {
        let page = try Fixtures.page("git_log.txt")
        #expect(page.usage == "git log [<options>] [<revision-range>] [[--] <path>...]\nor: git show [<options>] <object>...")
        let quiet = try #require(page.option("--quiet"))
        #expect(quiet.short == "-q")
        #expect(quiet.kind == .flag)
        #expect(quiet.summary == "suppress diff output")
        #expect(page.option("--source")?.summary == "show source")
        #expect(page.option("--decorate-refs")?.summary == "only decorate refs that match <pattern>")  // next line
        #expect(page.option("--decorate-refs")?.kind == .string)
        #expect(page.option("--decorate")?.valueName == "[=...]")
        #expect(page.option("-L")?.valueName == "<range:file>")
        #expect(page.options.count == 9)
        #expect(page.positionals == [Positional(name: "revision-range", required: false),
                                     Positional(name: "path", required: false)])
    }

    @Test func gitCommitGroupsAndOptionalValues() throws {
        let page = try Fixtures.page("git_commit.txt")
        #expect(page.option("--message")?.short == "-m")
        #expect(page.option("--message")?.kind == .string)
        #expect(page.option("--gpg-sign")?.valueName == "[=<key-id>]")
        #expect(page.option("--untracked-files")?.short == "-u")
        #expect(page.option("--no-verify")?.short == "-n")
        #expect(page.option("--dry-run")?.kind == .flag)
        #expect(page.positionals == [Positional(name: "pathspec", required: false)])  // not `<commit>`
        #expect(page.subcommands.isEmpty)
    }

    @Test func gitSubcommandsFromUsageForms() throws {
        let page = try Fixtures.page("git_remote.txt")
        // Forms that extend `git remote` by one word; `git remote [-v] show` does not.
        #expect(page.subcommandNames == ["add", "rename", "remove", "set-head", "prune", "set-branches", "get-url", "set-url"])
        #expect(page.option("--verbose")?.short == "-v")
        #expect(page.positionals.isEmpty)

        let log = try Fixtures.page("git_log.txt")
        #expect(log.subcommands.isEmpty)  // "or: git show ..." is another command, not a subcommand
    }

    // MARK: GNU and plain usage

    @Test func gnuOptionsWithAttachedValues() throws {
        let page = try Fixtures.page("gnu_head.txt")
        #expect(page.summary == "Print the first 10 lines of each FILE to standard output.")
        let lines = try #require(page.option("--lines"))  // `-n, --lines=[-]NUM`
        #expect(lines.short == "-n")
        #expect(lines.kind == .integer)
        #expect(lines.summary == "print the first NUM lines instead of the first 10; with the leading '-', print all but the last NUM lines of each file")
        #expect(page.option("--quiet")?.short == "-q")  // `-q, --quiet, --silent`
        #expect(page.option("--silent") == nil)
        #expect(page.positionals == [Positional(name: "FILE", required: false)])
        #expect(page.subcommands.isEmpty)  // "b 512, kB 1000, ..." is prose
    }

    @Test func plainUsageLine() throws {
        let page = try Fixtures.page("plain_usage.txt")
        #expect(page.options.map { $0.short ?? "" } == ["-v", "-n", "-o"])
        #expect(page.option("-v")?.kind == .flag)
        #expect(page.option("-n")?.kind == .integer)
        #expect(page.option("-n")?.valueName == "NUM")
        #expect(page.option("-o")?.kind == .string)
        #expect(page.positionals == [Positional(name: "FILE", required: true)])
    }

    @Test func sshUsageAfterAnErrorLine() throws {
        let page = try Fixtures.page("plain_ssh.txt")
        #expect(page.summary == nil)  // "unknown option -- h" is not a description
        #expect(page.option("-4")?.kind == .flag)  // `[-46AaCf...]`
        #expect(page.option("-y")?.kind == .flag)
        #expect(page.option("-p")?.valueName == "port")
        #expect(page.option("-L")?.kind == .string)
        #expect(page.positionals.first == Positional(name: "destination", required: true))
        #expect(page.usage?.hasPrefix("ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]\n") == true)
    }
}
