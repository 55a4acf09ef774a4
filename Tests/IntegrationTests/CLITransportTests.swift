import Foundation
import Testing

/// The CLI transport (plugins.d/20-cli.plugin) through the real host: discovery from help, the
/// discovery cache, calls, errors, timeouts, cancellation and caps, with real processes.
@Suite(.serialized)
struct CLITransportTests {
    static var countingTool: String { Paths.packageRoot + "/Tests/IntegrationTests/cli/counting_tool.py" }

    private func uniqueMarker() -> String { "5\(Int.random(in: 100_000...999_999)).\(Int.random(in: 100...999))" }

    /// A host with its own state directory, initialized as a client.
    private func host(_ servers: [String: Any], dir: String, state: String? = nil) throws -> HostProcess {
        let host = try HostProcess(config: try writeConfig(servers, in: dir), extra: ["--state-dir", state ?? dir + "/state"])
        try host.initialize()
        return host
    }

    /// Drops the host's catalog cache (<state>/catalog), which would answer the next host's list
    /// without opening the backend: for tests about the plugin's own discovery cache.
    private func forgetCatalog(_ state: String) {
        try? FileManager.default.removeItem(atPath: state + "/catalog")
    }

    private func tools(_ host: HostProcess, id: Int) throws -> [[String: Any]] {
        try host.request(id, "tools/list")
        return try #require((try host.response(id: id)["result"] as? [String: Any])?["tools"] as? [[String: Any]])
    }

    private func call(_ host: HostProcess, id: Int, _ name: String, _ arguments: [String: Any] = [:], timeout: Double = 20) throws -> [String: Any] {
        try host.request(id, "tools/call", ["name": name, "arguments": arguments])
        return try host.response(id: id, timeout: timeout)
    }

    private func isError(_ response: [String: Any]) -> Bool? {
        (response["result"] as? [String: Any])?["isError"] as? Bool
    }

    private func gitRepository() throws -> String {
        let repo = try Paths.temporaryDirectory() + "/repo"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        #expect(try run("/usr/bin/env", ["git", "init", "-q"], cwd: repo).status == 0)
        let commit = try run("/usr/bin/env", ["git", "-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "the first commit"], cwd: repo)
        #expect(commit.status == 0, "\(commit.stderr)")
        return repo
    }

    @Test func pluginsCommandListsTheCLITransport() throws {
        let result = try run(Paths.host, ["plugins", "--plugins", Paths.pluginsDir])
        #expect(result.stdout.contains("loaded   mcph.cli"), "\(result.stdout)")
        #expect(result.stdout.contains("transport cli"), "\(result.stdout)")
    }

    /// `{"command": "git", "cli": true}` is the CLI transport (not stdio); cli_only limits the
    /// tools to log and status and refuses the others (also through `args`, which come after the
    /// path words); git_log's schema holds what `git log -h` says; it runs in the configured cwd.
    @Test func gitToolsAreDiscoveredLimitedAndRun() throws {
        let repo = try gitRepository()
        let dir = try Paths.temporaryDirectory()
        let host = try host(["git": ["command": "git", "cli": true, "cwd": repo, "cli_only": ["log", "status"]]], dir: dir)
        let listed = try tools(host, id: 1)
        let names = Set(listed.compactMap { $0["name"] as? String })
        #expect(names == ["git__git_log", "git__git_status"], "\(names); stderr: \(host.stderr.suffix(2000))")
        let log = try #require(listed.first { $0["name"] as? String == "git__git_log" })
        let schema = try #require(log["inputSchema"] as? [String: Any])
        #expect(schema["type"] as? String == "object")
        let properties = try #require(schema["properties"] as? [String: Any])
        #expect(properties["args"] != nil, "git_log takes free-form args: \(properties.keys)")
        // `git log -h`: "-q, --quiet  suppress diff output", "--source  show source",
        // "--decorate-refs <pattern>".
        #expect((properties["quiet"] as? [String: Any])?["type"] as? String == "boolean", "\(properties.keys.sorted())")
        #expect((properties["source"] as? [String: Any])?["type"] as? String == "boolean", "\(properties.keys.sorted())")
        #expect((properties["decorate_refs"] as? [String: Any])?["type"] as? String == "string", "\(properties.keys.sorted())")

        let viaArgs = try call(host, id: 2, "git__git_log", ["args": "-1 --format=%s"])
        #expect(isError(viaArgs) == false, "\(viaArgs)")
        #expect(firstText(viaArgs)?.contains("the first commit") == true, "\(viaArgs)")

        let quiet = try call(host, id: 3, "git__git_log", ["quiet": true, "args": "--format=%s"])
        #expect(isError(quiet) == false, "\(quiet)")
        #expect(firstText(quiet)?.contains("the first commit") == true, "\(quiet)")

        // A subcommand outside cli_only (git has it) is refused before anything runs.
        let refused = try call(host, id: 4, "git__git_commit", ["args": "--allow-empty -m sneaky"])
        let error = try #require(refused["error"] as? [String: Any], "\(refused)")
        #expect(error["code"] as? Int == -32602, "\(error)")
        #expect((error["message"] as? String)?.contains("git_commit") == true, "\(error)")
        // `args` naming another subcommand are arguments of `git log`, never a subcommand of git.
        let smuggled = try call(host, id: 5, "git__git_log", ["args": "commit --allow-empty -m sneaky"])
        #expect(isError(smuggled) == true, "git log commit ... is an error of git log: \(smuggled)")
        let after = try run("/usr/bin/env", ["git", "log", "--format=%s"], cwd: repo)
        #expect(after.stdout == "the first commit\n", "\(after.stdout)")
    }

    /// A preset whose inputSchema has no `args` property refuses `args` (-32602), so a client
    /// cannot add words nobody offered; its own flags work; a preset without an inputSchema (the
    /// default schema, `args` only) and one whose schema lists `args` take them.
    @Test func presetWithoutArgsInItsSchemaRefusesArgs() throws {
        let dir = try Paths.temporaryDirectory()
        let echo = ["-c", "echo \"ran:$*\"", "sh"]
        let host = try host(["sh": ["command": "sh", "cli": true, "tools": [
            ["name": "status", "args": echo, "inputSchema": ["properties": ["short": ["type": "boolean"]]]],
            ["name": "free", "args": echo],
            ["name": "both", "args": echo, "inputSchema": ["properties": ["short": ["type": "boolean"], "args": ["type": "string"]]]]]]], dir: dir)
        let listed = try tools(host, id: 1)
        let status = try #require(listed.first { $0["name"] as? String == "sh__status" })
        #expect(((status["inputSchema"] as? [String: Any])?["properties"] as? [String: Any])?["args"] == nil)

        let refused = try call(host, id: 2, "sh__status", ["args": "push --force origin main"])
        let error = try #require(refused["error"] as? [String: Any], "\(refused)")
        #expect(error["code"] as? Int == -32602, "\(error)")
        #expect((error["message"] as? String)?.contains("'args'") == true, "\(error)")
        let listArgs = try call(host, id: 3, "sh__status", ["args": ["push"]])
        #expect((listArgs["error"] as? [String: Any])?["code"] as? Int == -32602, "\(listArgs)")

        let short = try call(host, id: 4, "sh__status", ["short": true])
        #expect(firstText(short) == "ran:--short\n", "\(short)")
        let free = try call(host, id: 5, "sh__free", ["args": "a 'b c'"])
        #expect(firstText(free) == "ran:a b c\n", "\(free)")
        let both = try call(host, id: 6, "sh__both", ["short": true, "args": "x"])
        #expect(firstText(both) == "ran:--short x\n", "\(both)")
    }

    /// The cache stores only a hash of its key: a secret in `env` (after `${VAR}` substitution
    /// the config holds it in clear) never reaches the file, which is named by a SHA-256.
    @Test func discoveryCacheHoldsNoSecrets() throws {
        let dir = try Paths.temporaryDirectory()
        let state = dir + "/state"
        let servers: [String: Any] = ["t": ["command": "python3", "args": [Self.countingTool], "cli": true,
                                            "env": ["TOKEN": "s3cret-value", "HELP_LOG": dir + "/help.log"]]]
        let first = try host(servers, dir: dir, state: state)
        #expect(!(try tools(first, id: 1)).isEmpty)
        first.closeStdin()
        try first.waitForExit()
        let files = try FileManager.default.contentsOfDirectory(atPath: state + "/mcph.cli")
        let cacheFiles = files.filter { $0.hasSuffix(".json") }
        #expect(cacheFiles.count == 1, "\(files)")
        for file in cacheFiles {
            let name = file.dropLast(".json".count)
            #expect(name.count == 64 && name.allSatisfy { $0.isHexDigit }, "a SHA-256 names the file: \(file)")
            let text = try String(contentsOfFile: state + "/mcph.cli/" + file, encoding: .utf8)
            #expect(!text.contains("s3cret-value"), "the cache file holds the secret")
            #expect(!text.contains("TOKEN"), "the cache file holds the config")
        }
        #expect(!first.stderr.contains("self-test"), "\(first.stderr.suffix(2000))")
    }

    /// A cache directory writable by others is not trusted: discovery runs again (and warns).
    @Test func cacheWritableByOthersIsNotUsed() throws {
        let dir = try Paths.temporaryDirectory()
        let helpLog = dir + "/help.log"
        let state = dir + "/state"
        let servers: [String: Any] = ["t": ["command": "python3", "args": [Self.countingTool], "cli": true, "env": ["HELP_LOG": helpLog]]]
        let first = try host(servers, dir: dir, state: state)
        let names = try tools(first, id: 1).compactMap { $0["name"] as? String }.sorted()
        first.closeStdin()
        try first.waitForExit()
        #expect(chmod(state + "/mcph.cli", 0o777) == 0)
        forgetCatalog(state)
        let before = try String(contentsOfFile: helpLog, encoding: .utf8)
        let second = try host(servers, dir: dir, state: state)
        #expect(try tools(second, id: 1).compactMap { $0["name"] as? String }.sorted() == names)
        #expect(second.stderr.contains("discovery cache not used"), "\(second.stderr.suffix(2000))")
        #expect(try String(contentsOfFile: helpLog, encoding: .utf8).count > before.count, "the untrusted cache was used")
    }

    /// A cache file whose tools could not come from discovery (here: a subcommand word that is an
    /// option, and fixed args) is ignored; discovery runs again and rewrites it.
    @Test func implausibleCacheIsRediscovered() throws {
        let dir = try Paths.temporaryDirectory()
        let helpLog = dir + "/help.log"
        let state = dir + "/state"
        let servers: [String: Any] = ["t": ["command": "python3", "args": [Self.countingTool], "cli": true, "env": ["HELP_LOG": helpLog]]]
        let first = try host(servers, dir: dir, state: state)
        let names = try tools(first, id: 1).compactMap { $0["name"] as? String }.sorted()
        first.closeStdin()
        try first.waitForExit()
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: state + "/mcph.cli").first { $0.hasSuffix(".json") })
        let path = state + "/mcph.cli/" + file
        var entry = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var tools0 = try #require(entry["tools"] as? [[String: Any]])
        tools0[0]["path"] = ["--exec-path=/tmp"]
        tools0[0]["fixedArgs"] = ["-c", "evil"]
        entry["tools"] = tools0
        try JSONSerialization.data(withJSONObject: entry).write(to: URL(fileURLWithPath: path))
        forgetCatalog(state)
        let before = try String(contentsOfFile: helpLog, encoding: .utf8)
        let second = try host(servers, dir: dir, state: state)
        #expect(try tools(second, id: 1).compactMap { $0["name"] as? String }.sorted() == names)
        #expect(second.stderr.contains("discovery cache unusable"), "\(second.stderr.suffix(2000))")
        #expect(try String(contentsOfFile: helpLog, encoding: .utf8).count > before.count, "the altered cache was used")
    }

    /// A call parked while discovery runs and then cancelled is dropped: it never runs (and gets
    /// no answer); a later call parked behind it runs once discovery ends.
    @Test func cancelledParkedCallNeverRuns() throws {
        let dir = try Paths.temporaryDirectory()
        let gate = dir + "/gate"
        let ranLog = dir + "/ran.log"
        let host = try host(["g": ["command": Paths.packageRoot + "/Tests/IntegrationTests/cli/gated_tool", "cli": true, "cli_depth": 0,
                                   "max_concurrent": 1, "env": ["GATE": gate, "RAN_LOG": ranLog]]], dir: dir)
        // A list starts the backend (the host starts it on first use); once discovery is under
        // way (its help waits for the gate) the host forwards the call at once, then the cancel.
        try host.request(10, "tools/list")
        _ = try waitFor("the help run") { processes(containing: "gated_tool --help", excludingSupervisors: true).isEmpty ? nil : true }
        try host.request(1, "tools/call", ["name": "g__gated_tool", "arguments": ["args": "first"]])
        try host.send(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 1, "reason": "test"]])
        try host.request(2, "tools/call", ["name": "g__gated_tool", "arguments": ["args": "second"]])
        FileManager.default.createFile(atPath: gate, contents: Data())
        let second = try host.response(id: 2, timeout: 20)
        #expect(firstText(second) == "ran:second\n", "\(second); stderr: \(host.stderr.suffix(2000))")
        host.closeStdin()
        try host.waitForExit()
        #expect(try String(contentsOfFile: ranLog, encoding: .utf8) == "second\n", "the cancelled call ran")
    }

    /// kill -9 of the host with a call running: the supervisor's lifeline kills the run's group.
    @Test func kill9OfTheHostKillsRuns() throws {
        let marker = uniqueMarker()
        let dir = try Paths.temporaryDirectory()
        let host = try host(["sh": ["command": "sh", "cli": true, "tools": [
            ["name": "hang", "args": ["-c", "sleep \(marker) & sleep \(marker); wait"]]]]], dir: dir)
        try host.request(1, "tools/call", ["name": "sh__hang", "arguments": [:]])
        _ = try waitFor("the run to start") { processes(containing: "sleep \(marker)", excludingSupervisors: true).isEmpty ? nil : true }
        kill(host.process.processIdentifier, SIGKILL)
        try host.waitForExit()
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "a run survived kill -9 of the host")
    }

    /// A key the schema does not offer is refused (-32602 naming it), never turned into a flag.
    @Test func unknownArgumentKeyIsRefused() throws {
        let repo = try gitRepository()
        let dir = try Paths.temporaryDirectory()
        let host = try host(["git": ["command": "git", "cli": true, "cwd": repo, "cli_only": ["log"]]], dir: dir)
        let response = try call(host, id: 1, "git__git_log", ["exec-path": "/tmp", "no_such_option": true])
        let error = try #require(response["error"] as? [String: Any], "\(response)")
        #expect(error["code"] as? Int == -32602)
        let message = error["message"] as? String ?? ""
        #expect(message.contains("no_such_option") || message.contains("exec-path"), "\(message)")
    }

    /// Non-zero exit: a result with isError, stdout, stderr under its delimiter, and the exit code.
    @Test func failingCommandIsAnErrorResultWithTheExitCode() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try host(["sh": ["command": "sh", "cli": true, "tools": [
            ["name": "fail", "args": ["-c", "echo out; echo err >&2; exit 3"], "description": "fails"]]]], dir: dir)
        let response = try call(host, id: 1, "sh__fail")
        #expect(isError(response) == true, "\(response)")
        let text = try #require(firstText(response))
        #expect(text.contains("out"))
        #expect(text.contains("--- stderr ---\nerr"), "\(text)")
        #expect(text.contains("exit code 3"), "\(text)")
    }

    /// A run past its timeout is an isError result saying so, and its whole process group is gone.
    @Test func hangingCommandTimesOutAndLeavesNoProcess() throws {
        let marker = uniqueMarker()
        let dir = try Paths.temporaryDirectory()
        let host = try host(["sh": ["command": "sh", "cli": true, "timeout": "1s", "tools": [
            ["name": "hang", "args": ["-c", "sleep \(marker) & sleep \(marker); wait"]]]]], dir: dir)
        let response = try call(host, id: 1, "sh__hang")
        #expect(isError(response) == true, "\(response)")
        #expect(firstText(response)?.contains("timed out") == true, "\(response)")
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "a process of the timed-out run survived")
    }

    /// A client's cancellation reaches the plugin, which kills the run's process group.
    @Test func cancellationKillsTheRun() throws {
        let marker = uniqueMarker()
        let dir = try Paths.temporaryDirectory()
        let host = try host(["sh": ["command": "sh", "cli": true, "timeout": "60s", "tools": [
            ["name": "hang", "args": ["-c", "sleep \(marker) & sleep \(marker); wait"]]]]], dir: dir)
        try host.request(1, "tools/call", ["name": "sh__hang", "arguments": [:]])
        _ = try waitFor("the run to start") { processes(containing: "sleep \(marker)", excludingSupervisors: true).isEmpty ? nil : true }
        try host.send(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 1, "reason": "test"]])
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "the cancelled run survived")
    }

    /// Host shutdown (SIGTERM) with a run in flight leaves nothing behind. (On stdin EOF the host
    /// first lets in-flight requests finish, here up to the 60 s timeout.)
    @Test func hostShutdownKillsRuns() throws {
        let marker = uniqueMarker()
        let dir = try Paths.temporaryDirectory()
        let host = try host(["sh": ["command": "sh", "cli": true, "tools": [
            ["name": "hang", "args": ["-c", "sleep \(marker) & sleep \(marker); wait"]]]]], dir: dir)
        try host.request(1, "tools/call", ["name": "sh__hang", "arguments": [:]])
        _ = try waitFor("the run to start") { processes(containing: "sleep \(marker)", excludingSupervisors: true).isEmpty ? nil : true }
        kill(host.process.processIdentifier, SIGTERM)
        try host.waitForExit(timeout: 15)
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "a run survived the host")
    }

    /// Output past max_output is cut with a visible note.
    @Test func outputIsCappedWithANote() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try host(["sh": ["command": "sh", "cli": true, "max_output": 100, "tools": [
            ["name": "big", "args": ["-c", "i=0; while [ $i -lt 200 ]; do printf xxxxxxxxxx; i=$((i+1)); done"]]]]], dir: dir)
        let text = try #require(firstText(try call(host, id: 1, "sh__big")))
        #expect(text.hasPrefix(String(repeating: "x", count: 100)))
        #expect(!text.hasPrefix(String(repeating: "x", count: 101)))
        #expect(text.contains("output cut: 1900 more bytes"), "\(text)")
    }

    /// max_concurrent 1: runs never overlap (each holds a lock directory while it runs).
    @Test func concurrentRunsAreCapped() throws {
        let dir = try Paths.temporaryDirectory()
        let lock = dir + "/lock"
        let host = try host(["sh": ["command": "sh", "cli": true, "max_concurrent": 1, "timeout": "30s", "tools": [
            ["name": "exclusive", "args": ["-c", "mkdir \"$0\" || { echo OVERLAP; exit 1; }; sleep 0.2; rmdir \"$0\"; echo done", lock]]]]], dir: dir)
        for id in 1...4 { try host.request(id, "tools/call", ["name": "sh__exclusive", "arguments": [:]]) }
        for id in 1...4 {
            let response = try host.response(id: id, timeout: 30)
            #expect(isError(response) == false, "\(response)")
            #expect(firstText(response)?.contains("done") == true, "\(response)")
        }
    }

    /// A bad number in the config disables that server with a message naming the key.
    @Test func invalidSettingsAreClearErrors() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try host(["bad": ["command": "sh", "cli": true, "max_concurrent": 0, "tools": [["name": "x"]]]], dir: dir)
        let response = try call(host, id: 1, "bad__x")
        let message = (response["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("max_concurrent"), "\(response)")
    }

    /// The argparse fixture: discovery reads its help (subcommands become tools), and a second
    /// host with the same state directory lists the same tools and runs a call with no help run.
    @Test func secondStartUsesTheDiscoveryCache() throws {
        let dir = try Paths.temporaryDirectory()
        let helpLog = dir + "/help.log"
        let servers: [String: Any] = ["t": ["command": "python3", "args": [Self.countingTool], "cli": true, "env": ["HELP_LOG": helpLog]]]
        let state = dir + "/state"

        let first = try host(servers, dir: dir, state: state)
        let firstNames = try tools(first, id: 1).compactMap { $0["name"] as? String }.sorted()
        #expect(!firstNames.isEmpty)
        first.closeStdin()
        try first.waitForExit()
        let helpRuns = try String(contentsOfFile: helpLog, encoding: .utf8)
        #expect(!helpRuns.isEmpty, "the first start read the help")
        let cacheFiles = try FileManager.default.contentsOfDirectory(atPath: state + "/mcph.cli")
        #expect(cacheFiles.contains { $0.hasSuffix(".json") }, "\(cacheFiles)")

        let second = try host(servers, dir: dir, state: state)
        let secondNames = try tools(second, id: 1).compactMap { $0["name"] as? String }.sorted()
        #expect(secondNames == firstNames)
        #expect(secondNames.contains("t__python3_greet"), "\(secondNames)")
        let greeting = try call(second, id: 2, "t__python3_greet", ["args": "--name cache"])
        #expect(isError(greeting) == false, "\(greeting)")
        #expect(firstText(greeting) == "hello cache\n", "\(greeting)")
        #expect(try String(contentsOfFile: helpLog, encoding: .utf8) == helpRuns, "the second start ran a help process")
    }

    /// A corrupt cache file is a warning and a rebuild, not a failure.
    @Test func corruptCacheIsRebuilt() throws {
        let dir = try Paths.temporaryDirectory()
        let helpLog = dir + "/help.log"
        let servers: [String: Any] = ["t": ["command": "python3", "args": [Self.countingTool], "cli": true, "env": ["HELP_LOG": helpLog]]]
        let state = dir + "/state"
        let first = try host(servers, dir: dir, state: state)
        let names = try tools(first, id: 1).compactMap { $0["name"] as? String }.sorted()
        first.closeStdin()
        try first.waitForExit()
        for file in try FileManager.default.contentsOfDirectory(atPath: state + "/mcph.cli") {
            try "{not json".write(toFile: state + "/mcph.cli/" + file, atomically: true, encoding: .utf8)
        }
        forgetCatalog(state)
        let second = try host(servers, dir: dir, state: state)
        #expect(try tools(second, id: 1).compactMap { $0["name"] as? String }.sorted() == names)
        #expect(second.stderr.contains("discovery cache unusable"), "\(second.stderr.suffix(2000))")
    }
}
