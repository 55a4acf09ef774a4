import Foundation
import Testing

/// Configuration hot reload against the real binary: file changes and SIGHUP add, remove and
/// restart backends while the others keep their calls; a bad edit is refused; nothing survives.
@Suite(.serialized)
struct ReloadTests {
    private func uniqueMarker() -> String { "5\(Int.random(in: 100_000...999_999)).\(Int.random(in: 100...999))" }

    /// A backend that starts a grandchild ignoring SIGTERM (`sleep MARKER`), then execs the fake
    /// server.
    private func stubbornBackend(name: String, marker: String) -> [String: Any] {
        var server = fakeServer(name: name)
        server["command"] = "sh"
        server["args"] = ["-c", "(trap '' TERM; exec sleep \(marker)) & exec python3 -u \"$0\"", Paths.fakeBackend]
        server["shutdown_grace"] = "1s"
        return server
    }

    private func waitForLog(_ host: HostProcess, _ text: String, after count: Int = 0, timeout: Double = 15) throws {
        _ = try waitFor("the host to log \"\(text)\"", timeout: timeout) {
            host.stderr.components(separatedBy: text).count - 1 > count ? true : nil
        }
    }

    private func toolNames(_ host: HostProcess, id: Int) throws -> [String] {
        try host.request(id, "tools/list")
        let result = try #require(try host.response(id: id)["result"] as? [String: Any])
        return (result["tools"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    @Test func anEditAddsAndRemovesBackendsWhileAnotherBackendsCallCompletes() throws {
        let dir = try Paths.temporaryDirectory()
        let marker = uniqueMarker()
        let config = try writeConfig(["keep": fakeServer(name: "keep"), "gone": stubbornBackend(name: "gone", marker: marker)], in: dir)
        let host = try HostProcess(config: config, extra: ["--request-timeout", "30"])
        try host.initialize()
        try host.request(1, "tools/call", ["name": "gone__pid", "arguments": [:]])
        let gonePID = try #require(firstText(try host.response(id: 1)).flatMap { Int32($0) })
        #expect(!processes(containing: "sleep \(marker)").isEmpty, "the grandchild runs")
        try host.request(2, "tools/call", ["name": "keep__slow", "arguments": ["ms": 4000]])
        Thread.sleep(forTimeInterval: 0.5) // the slow call is in flight on `keep`

        _ = try writeConfig(["keep": fakeServer(name: "keep"), "added": fakeServer(name: "added")], in: dir)
        try waitForLog(host, "configuration reloaded")
        _ = try host.next(timeout: 10, "tools/list_changed", where: { $0["method"] as? String == "notifications/tools/list_changed" })
        let names = try toolNames(host, id: 3)
        #expect(names.contains("added__echo") && names.contains("keep__echo"), "\(names)")
        #expect(!names.contains { $0.hasPrefix("gone__") }, "\(names)")
        try host.request(4, "tools/call", ["name": "added__echo", "arguments": ["text": "new"]])
        #expect(firstText(try host.response(id: 4)) == "new")
        try host.request(5, "tools/call", ["name": "gone__echo", "arguments": ["text": "x"]])
        let refused = try host.response(id: 5)
        #expect(refused["error"] != nil, "a removed server's tools are unknown: \(refused)")

        let slow = try host.response(id: 2, timeout: 20)
        #expect(slow["result"] != nil, "the untouched backend's call completed across the reload: \(slow)")
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "the removed backend's SIGTERM-ignoring grandchild survived")
        let deadline = Date().addingTimeInterval(10)
        while kill(gonePID, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(kill(gonePID, 0) != 0, "the removed backend survived")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    @Test func aChangedServerIsRestartedAndNothingOfTheOldOneSurvives() throws {
        let dir = try Paths.temporaryDirectory()
        let marker = uniqueMarker()
        var server = stubbornBackend(name: "s", marker: marker)
        let config = try writeConfig(["s": server], in: dir)
        let host = try HostProcess(config: config)
        try host.initialize()
        try host.request(1, "tools/call", ["name": "s__pid", "arguments": [:]])
        let before = try #require(firstText(try host.response(id: 1)).flatMap { Int32($0) })

        let newMarker = uniqueMarker()
        server = stubbornBackend(name: "s", marker: newMarker)
        _ = try writeConfig(["s": server], in: dir)
        try waitForLog(host, "configuration reloaded")
        try host.request(2, "tools/call", ["name": "s__pid", "arguments": [:]])
        let after = try #require(firstText(try host.response(id: 2)).flatMap { Int32($0) })
        #expect(after != before, "a new process serves the changed server")
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "the old backend's grandchild survived its restart")
        #expect(kill(before, 0) != 0 || waitForExit(before), "the old backend survived its restart")
        #expect(!processes(containing: "sleep \(newMarker)").isEmpty, "the new one runs")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
        #expect(waitForNoProcesses(containing: "sleep \(newMarker)").isEmpty)
    }

    @Test func anInvalidEditIsRefusedAndTheRunningConfigurationStays() throws {
        let dir = try Paths.temporaryDirectory()
        let config = try writeConfig(["a": fakeServer(name: "a")], in: dir)
        let host = try HostProcess(config: config)
        try host.initialize()
        #expect(try toolNames(host, id: 1).contains("a__echo"))

        try #"{"mcpServers": {"a": "#.write(toFile: config, atomically: true, encoding: .utf8)
        try waitForLog(host, "configuration reload refused")
        #expect(host.stderr.contains("not valid JSON"), "\(host.stderr.suffix(2000))")
        try host.request(2, "tools/call", ["name": "a__echo", "arguments": ["text": "still"]])
        #expect(firstText(try host.response(id: 2)) == "still")

        _ = try writeConfig(["a": fakeServer(name: "a"), "b": ["command": "x", "args": "not-a-list"]], in: dir)
        try waitForLog(host, "configuration reload refused", after: 1)
        #expect(host.stderr.contains("server 'b': \"args\": must be an array of strings"), "\(host.stderr.suffix(2000))")
        let names = try toolNames(host, id: 3)
        #expect(names.contains("a__echo") && !names.contains { $0.hasPrefix("b__") }, "\(names)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// A call restarts a reaped backend; the new start waits for the reaped process tree to be gone
    /// (its grandchild ignores SIGTERM, so that takes the supervisor's grace). The server is removed
    /// by a reload meanwhile: the start must not spawn a process nobody will ever stop, and the call
    /// must be answered.
    ///
    /// Disabled until `Backend.connectAndInitialize`/`start` refuse to open a connection once the
    /// backend is shut down (review of issue 10): today the start spawns the process after the
    /// retirement's shutdown, nobody closes it, the Backend is released and its call never answered.
    @Test
    func aServerRemovedWhileItsRestartWaitsForTheReapedProcessLeavesNoProcess() throws {
        let dir = try Paths.temporaryDirectory()
        let marker = uniqueMarker()
        var server = stubbornBackend(name: "r", marker: marker)
        server["idle_timeout"] = "2s"
        server["shutdown_grace"] = "8s" // the supervisor waits 4 s for the grandchild before SIGKILL
        let config = try writeConfig(["r": server, "keep": fakeServer(name: "keep")], in: dir)
        let host = try HostProcess(config: config, extra: ["--request-timeout", "30"])
        try host.initialize()
        try host.request(1, "tools/call", ["name": "r__pid", "arguments": [:]])
        _ = try host.response(id: 1)
        try waitForLog(host, "reaping the idle backend")
        // Restart it: the new start waits until the reaped tree is gone (seconds).
        try host.request(2, "tools/call", ["name": "r__echo", "arguments": ["text": "late"]])
        _ = try writeConfig(["keep": fakeServer(name: "keep")], in: dir)
        try waitForLog(host, "configuration reloaded")
        // Answered (an error: its server is gone), not left waiting on a connection nobody reads.
        let answer = try host.response(id: 2, timeout: 30)
        #expect(answer["error"] != nil, "\(answer)")
        // The reaped tree is gone after the grace; nothing of `r` may run after that.
        Thread.sleep(forTimeInterval: 2)
        #expect(waitForNoProcesses(containing: "sleep \(marker)", timeout: 15).isEmpty,
                "a process of the removed server runs on: \(host.stderr.suffix(3000))")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// The router chain is built at start: a reload that changes "routers" says that it needs a
    /// restart, and the running chain (and its names) stays.
    @Test func aChangedRouterChainSaysItNeedsARestart() throws {
        let dir = try Paths.temporaryDirectory()
        let config = try writeConfig(["a": fakeServer(name: "a")], in: dir)
        let host = try HostProcess(config: config)
        try host.initialize()
        #expect(try toolNames(host, id: 1).contains("a__echo"))
        let servers = try JSONSerialization.data(withJSONObject: ["routers": ["mcph.alias", "mcph.namespace"], "mcpServers": ["a": fakeServer(name: "a")]])
        try servers.write(to: URL(fileURLWithPath: config))
        try waitForLog(host, "needs a restart of mcp-host")
        try waitForLog(host, "configuration reloaded")
        #expect(try toolNames(host, id: 2).contains("a__echo"))
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// The servers file is a symlink to a file in an unwatched directory, so only SIGHUP reloads.
    @Test func sighupReloads() throws {
        let dir = try Paths.temporaryDirectory()
        let elsewhere = try Paths.temporaryDirectory()
        let real = try writeConfig(["a": fakeServer(name: "a")], in: elsewhere)
        let link = dir + "/servers.json"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        let host = try HostProcess(config: link)
        try host.initialize()
        _ = try writeConfig(["a": fakeServer(name: "a"), "b": fakeServer(name: "b")], in: elsewhere)
        Thread.sleep(forTimeInterval: 1)
        #expect(!host.stderr.contains("configuration reloaded"), "no file event in the watched directory")
        kill(host.process.processIdentifier, SIGHUP)
        try waitForLog(host, "configuration reloaded")
        #expect(host.stderr.contains("SIGHUP"))
        #expect(try toolNames(host, id: 1).contains("b__echo"))
        #expect(host.process.isRunning, "SIGHUP reloads; it does not stop the host")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }
}

/// Waits up to 10 s for a process to be gone; true when it is.
private func waitForExit(_ pid: Int32) -> Bool {
    let deadline = Date().addingTimeInterval(10)
    while kill(pid, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    return kill(pid, 0) != 0
}

/// Reaping with a backend whose grandchild ignores SIGTERM: nothing survives.
@Suite(.serialized)
struct ReapTreeTests {
    @Test func aReapLeavesNoProcessEvenWhenAGrandchildIgnoresSIGTERM() throws {
        let dir = try Paths.temporaryDirectory()
        let marker = "6\(Int.random(in: 100_000...999_999)).\(Int.random(in: 100...999))"
        var server = fakeServer(name: "r")
        server["command"] = "sh"
        server["args"] = ["-c", "(trap '' TERM; exec sleep \(marker)) & exec python3 -u \"$0\"", Paths.fakeBackend]
        server["idle_timeout"] = "2s"
        server["shutdown_grace"] = "1s"
        let host = try HostProcess.initialized(["r": server], in: dir)
        try host.request(1, "tools/call", ["name": "r__pid", "arguments": [:]])
        let pid = try #require(firstText(try host.response(id: 1)).flatMap { Int32($0) })
        #expect(!processes(containing: "sleep \(marker)").isEmpty)
        _ = try waitFor("the reaper", timeout: 15) { host.stderr.contains("reaping the idle backend") ? true : nil }
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty, "the grandchild survived the reap")
        #expect(waitForExit(pid), "the backend survived the reap")
        try host.request(2, "tools/call", ["name": "r__echo", "arguments": ["text": "again"]])
        #expect(firstText(try host.response(id: 2)) == "again", "a call after the reap starts it again")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
        #expect(waitForNoProcesses(containing: "sleep \(marker)").isEmpty)
    }
}
