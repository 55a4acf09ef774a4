#if canImport(Glibc)
import Glibc
#endif
import CLIDiscovery
import Foundation
import Locking
import ProcessSupport

/// Finds a CLI's tools by running its help, recursively: `command [args] [path...] <cli_help>`,
/// and for a subcommand whose help fails or says nothing parseable, `... -h` (git's `log --help`
/// opens a man page; `log -h` prints usage). At most `concurrency` help processes run at once,
/// each under the supervisor with `helpTimeoutMs`; pagers are set to `cat` and there is no tty.
/// Subcommands are followed to `config.depth` levels; a node with subcommands above that depth is
/// a group (not a tool itself), every other node is a tool. A node whose help cannot be read still
/// becomes a tool taking `args`. `cli_only` restricts the first level before any help is run.
struct Discovery: Sendable {
    let config: CLIConfig
    let executable: String
    let runner: ProcessRunner
    let log: @Sendable (String) -> Void
    /// Set when the connection closes: help processes in flight are killed.
    var cancellation: RunCancellation?
    var concurrency = 4
    var helpTimeoutMs = 5000
    /// At most this many help pages are read; beyond it remaining subcommands become args-only tools.
    var maxNodes = 400
    /// Help output beyond this is dropped (a man page is a few hundred KiB at most).
    var helpOutputCap = 1 << 20

    /// Pager settings for every run, so nothing waits on a terminal (config `env` wins).
    static let quietEnvironment = ["GIT_PAGER": "cat", "PAGER": "cat", "MANPAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "TERM": "dumb"]

    struct Result: Sendable {
        var tools: [ToolDefinition]
        /// Help processes run (0 when nothing had to be read).
        var helpRuns: Int
        /// False when something was cut short (node limit, a help run that timed out, could not
        /// start or was cancelled): not worth caching, so the next start tries again.
        var complete: Bool
    }

    private struct Node: Sendable {
        var path: [String]
        var summary: String?
    }

    private struct NodeResult: Sendable {
        var page: HelpPage?
    }

    func discover() -> Result {
        let runs = Locked(0)
        let temporaryFailure = Locked(false)
        var results: [[String]: NodeResult] = [:]
        var level: [Node] = [Node(path: [], summary: nil)]
        var visited = 0
        var complete = true
        while !level.isEmpty {
            let budget = max(0, maxNodes - visited)
            if level.count > budget { complete = false }
            let batch = Array(level.prefix(budget))
            visited += batch.count
            let pages = readPages(batch.map(\.path), runs: runs, temporaryFailure: temporaryFailure)
            var next: [Node] = []
            for (node, page) in zip(batch, pages) {
                var page = page
                if node.path.isEmpty, let only = config.only, config.depth > 0 {
                    // cli_only names the first level outright (git --help lists only common
                    // commands); summaries come from the root page where it lists them.
                    let listed = page?.subcommands ?? []
                    let chosen = only.map { name in Subcommand(name: name, summary: listed.first { $0.name == name }?.summary ?? "") }
                    if page == nil { page = HelpPage() }
                    page?.subcommands = chosen
                }
                results[node.path] = NodeResult(page: page)
                guard node.path.count < config.depth, let page, !page.subcommands.isEmpty else { continue }
                for sub in page.subcommands where isAllowed(node.path + [sub.name]) && isWord(sub.name) && !node.path.contains(sub.name) {
                    next.append(Node(path: node.path + [sub.name], summary: sub.summary.isEmpty ? nil : sub.summary))
                }
            }
            for node in level.dropFirst(batch.count) { results[node.path] = NodeResult(page: nil) }
            level = next
        }
        if !complete { log("discovery stopped after \(maxNodes) help pages; the remaining subcommands are tools taking only `args`") }

        // Assemble depth-first in the order the help listed them.
        var tools: [ToolDefinition] = []
        func visit(_ path: [String], summary: String?) {
            let page = results[path]?.page
            let children = (page?.subcommands ?? []).filter { results[path + [$0.name]] != nil }
            if !children.isEmpty {
                for child in children { visit(path + [child.name], summary: child.summary) }
            } else if isAllowed(path) {
                tools.append(ToolBuilder.tool(command: toolCommand, path: path, page: page, summary: summary))
            }
        }
        visit([], summary: nil)
        if temporaryFailure.withLock({ $0 }) { complete = false }
        return Result(tools: tools, helpRuns: runs.withLock { $0 }, complete: complete)
    }

    /// The name tools are named after: the command's basename.
    var toolCommand: String { config.command }

    /// `cli_only` names the allowed first-level subcommands; the root (which could run any of
    /// them through `args`) is allowed only without `cli_only`.
    func isAllowed(_ path: [String]) -> Bool {
        guard let only = config.only else { return true }
        guard let first = path.first else { return false }
        return only.contains(first)
    }

    /// A subcommand name that is safe to put on a command line as one word.
    private func isWord(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("-") && name.utf8.count <= 64 && !name.contains(where: { $0.isWhitespace })
    }

    /// Reads the help of every path, `concurrency` at a time, in order of the input.
    private func readPages(_ paths: [[String]], runs: Locked<Int>, temporaryFailure: Locked<Bool>) -> [HelpPage?] {
        let pages = Locked([HelpPage?](repeating: nil, count: paths.count))
        let nextIndex = Locked(0)
        let group = DispatchGroup()
        for _ in 0..<min(concurrency, paths.count) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while true {
                    let index: Int = nextIndex.withLock { value in
                        defer { value += 1 }
                        return value
                    }
                    guard index < paths.count else { return }
                    let page = readPage(paths[index], runs: runs, temporaryFailure: temporaryFailure)
                    pages.withLock { $0[index] = page }
                }
            }
        }
        group.wait()
        return pages.withLock { $0 }
    }

    /// The page of `path`, or nil; sets `temporaryFailure` when a run timed out, could not start
    /// or was cancelled (the result may differ next time, so it is not cached).
    private func readPage(_ path: [String], runs: Locked<Int>, temporaryFailure: Locked<Bool>) -> HelpPage? {
        var flags = [config.help]
        if !path.isEmpty && config.help != "-h" { flags.append("-h") }
        for flag in flags {
            runs.withLock { $0 += 1 }
            var env = Self.quietEnvironment
            for (key, value) in config.env { env[key] = value }
            let request = SpawnRequest(command: executable, args: config.args + path + [flag], env: env, cwd: config.cwd)
            let outcome = runner.run(request, timeoutMs: helpTimeoutMs, maxOutput: helpOutputCap, cancellation: cancellation)
            let shown = ([config.command] + config.args + path + [flag]).joined(separator: " ")
            switch outcome.end {
            case .timedOut:
                log("help '\(shown)' timed out after \(helpTimeoutMs) ms; killed")
                temporaryFailure.withLock { $0 = true }
                continue
            case .failedToStart(let why):
                log("help '\(shown)' could not be started: \(why)")
                temporaryFailure.withLock { $0 = true }
                return nil
            case .cancelled:
                temporaryFailure.withLock { $0 = true }
                return nil
            case .exited:
                break
            }
            // Help goes to stdout by convention, to stderr for some tools (Go's flag package);
            // a non-zero exit is common (git -h exits 129) and says nothing by itself.
            for stream in [outcome.stdout, outcome.stderr] where !stream.isEmpty {
                let text = String(decoding: stream, as: UTF8.self)
                // A man page (`git log --help` with MANPAGER=cat) is long prose: try -h instead.
                if flag != "-h", flags.count > 1, Self.looksLikeManPage(text) { continue }
                if let page = HelpParser.parse(text) { return page }
            }
            log("help '\(shown)' printed nothing recognisable")
        }
        return nil
    }

    /// True when the first non-empty line is a man page header such as "GIT-LOG(1)   Git Manual".
    static func looksLikeManPage(_ text: String) -> Bool {
        guard let first = text.split(separator: "\n").first(where: { !$0.allSatisfy(\.isWhitespace) }) else { return false }
        let word = first.split(separator: " ").first ?? ""
        guard let open = word.firstIndex(of: "("), word.hasSuffix(")") else { return false }
        return word[..<open].allSatisfy { $0.isUppercase || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
            && word[word.index(after: open)...].dropLast().first?.isNumber == true
    }
}

/// Where a command is: `command` with a slash is taken as is (relative to `cwd`), else searched
/// on PATH (the config's `env.PATH` if given, else the host's).
enum ExecutableLocator {
    static func locate(_ command: String, pathVariable: String?, cwd: String?) -> String? {
        if command.contains("/") {
            let path = command.hasPrefix("/") ? command : (cwd ?? FileManager.default.currentDirectoryPath) + "/" + command
            return access(path, X_OK) == 0 ? path : nil
        }
        let search = pathVariable ?? (getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin")
        for directory in search.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = directory + "/" + command
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The executable's identity for the cache: its resolved path, size and modification time.
    static func identity(of path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard realpath(path, &buffer) != nil else { return nil }
        let resolved = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var info = stat()
        guard stat(resolved, &info) == 0 else { return nil }
        return "\(resolved)|\(info.st_size)|\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }
}
