import Foundation
import Locking
import Testing

/// `mcp-host connect` and `serve --socket`: stdio-only clients share one host (and so one process
/// per backend) through a Unix socket. Each test has its own socket, config, state directory and
/// a marker in its backend's command line, and kills whatever it started, also when it fails.
@Suite(.serialized)
struct ConnectTests {
    /// One test's shared host: where its socket is, what it serves, and how to find its processes.
    final class SharedHost: Sendable {
        let directory: String
        let socketDirectory: String
        let socket: String
        let stateDirectory: String
        let config: String
        let backendLog: String
        /// In the backend's command line, so its processes can be counted and found.
        let marker: String

        init(socketDirectoryExists: Bool = false) throws {
            directory = try Paths.temporaryDirectory()
            socketDirectory = directory + "/run"
            socket = socketDirectory + "/host.sock"
            stateDirectory = directory + "/state"
            backendLog = directory + "/backend.log"
            marker = "connect-test-\(UUID().uuidString.prefix(8))"
            var backend = fakeServer(name: "f", log: backendLog)
            backend["args"] = ["-u", Paths.fakeBackend, marker]
            config = try writeConfig(["f": backend], in: directory)
            if socketDirectoryExists {
                try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: false,
                                                        attributes: [.posixPermissions: 0o700])
            }
        }

        /// The options every command here gets.
        func options(exitWhenIdle: String? = nil) -> [String] {
            ["--socket", socket, "--plugins", Paths.pluginsDir, "--config", config, "--state-dir", stateDirectory, "--log-level", "debug"]
                + (exitWhenIdle.map { ["--exit-when-idle", $0] } ?? [])
        }

        /// A stdio client's bridge: `mcp-host connect`, spoken to over its stdin/stdout.
        func bridge(exitWhenIdle: String? = nil) throws -> HostProcess {
            try HostProcess(arguments: ["connect"] + options(exitWhenIdle: exitWhenIdle))
        }

        /// Shared hosts serving this socket (bridges' command lines say `connect`, not `serve`).
        var hostPIDs: [Int32] { processes(containing: "serve --socket \(socket)") }
        /// Backend processes (supervisors not counted).
        var backendPIDs: [Int32] { processes(containing: marker, excludingSupervisors: true) }
        var pidFile: Int32? {
            (try? String(contentsOfFile: socketDirectory + "/host.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        var hostLog: String { (try? String(contentsOfFile: stateDirectory + "/host.log", encoding: .utf8)) ?? "" }

        /// Stops every host of this socket (SIGTERM, then SIGKILL after 10 s) and checks that no
        /// host, bridge, supervisor or backend of this test is left.
        func tearDown() {
            var hosts = hostPIDs
            if let pid = pidFile, !hosts.contains(pid), kill(pid, 0) == 0 { hosts.append(pid) }
            for pid in hosts { kill(pid, SIGTERM) }
            if !waitForNoProcesses(containing: "serve --socket \(socket)", timeout: 10).isEmpty {
                for pid in hostPIDs { kill(pid, SIGKILL) }
            }
            let left = waitForNoProcesses(containing: socket) + waitForNoProcesses(containing: marker)
            #expect(left.isEmpty, "processes left behind: \(left); host log:\n\(hostLog.suffix(3000))")
        }
    }

    /// The text of a `tools/call` answer, or a failure showing what came instead.
    private func text(of response: [String: Any]) throws -> String {
        try #require(firstText(response), "not a tool result: \(response)")
    }

    // MARK: - Sharing

    @Test func threeStdioClientsShareOneHostAndOneBackend() throws {
        let shared = try SharedHost()
        defer { shared.tearDown() }

        // Three bridges started at the same moment: each finds no host, one starts it.
        let started = Locked<[Int: HostProcess]>([:])
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { index in
            do {
                let bridge = try shared.bridge()
                started.withLock { $0[index] = bridge }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let bridges = started.withLock { dictionary in (0..<3).compactMap { dictionary[$0] } }
        try #require(bridges.count == 3)
        for bridge in bridges { try bridge.initialize() }

        // All call a tool on the same backend at once.
        for (index, bridge) in bridges.enumerated() {
            try bridge.request(index, "tools/call", ["name": "f__slow", "arguments": ["ms": 300, "tag": "\(index)"]])
        }
        for (index, bridge) in bridges.enumerated() {
            #expect(try text(of: bridge.response(id: index)) == "slow \(index)")
        }
        for (index, bridge) in bridges.enumerated() {
            try bridge.request("pid\(index)", "tools/call", ["name": "f__pid", "arguments": [:]])
        }
        let backendPIDs = try bridges.enumerated().map { index, bridge in try text(of: bridge.response(id: "pid\(index)")) }
        #expect(Set(backendPIDs).count == 1, "the clients reached different backends: \(backendPIDs)")

        #expect(shared.hostPIDs.count == 1, "shared hosts: \(shared.hostPIDs)\n\(shared.hostLog.suffix(2000))")
        #expect(shared.backendPIDs.count == 1, "backends: \(shared.backendPIDs)")
        #expect(shared.backendPIDs.map { String($0) } == [backendPIDs[0]], "the backend that answered is the one running")
        let host = try #require(shared.hostPIDs.first)
        #expect(shared.pidFile == host, "the pid file names the host")
        #expect(getsid(host) == host, "the host runs in its own session (setsid)")

        // The bridges end normally; the host outlives them.
        for bridge in bridges { bridge.closeStdin() }
        for bridge in bridges { #expect(try bridge.waitForExit() == 0, "\(bridge.stderr)") }
        for bridge in bridges { #expect(bridge.everyLine.allSatisfy { $0.hasPrefix("{") }, "stdout carries protocol only") }
        #expect(shared.hostPIDs == [host])
    }

    @Test func aClientThatExitsMidCallDoesNotDisturbTheOthers() throws {
        let shared = try SharedHost()
        defer { shared.tearDown() }
        let leaving = try shared.bridge()
        try leaving.initialize()
        let staying = try shared.bridge()
        try staying.initialize()

        try leaving.request("gone", "tools/call", ["name": "f__slow", "arguments": ["ms": 6000, "tag": "gone"]])
        try staying.request("kept", "tools/call", ["name": "f__slow", "arguments": ["ms": 1500, "tag": "kept"]])
        _ = try waitFor("both calls to reach the backend") {
            try loggedMessages(shared.backendLog).filter { $0["method"] as? String == "tools/call" }.count >= 2 ? true : nil
        }
        kill(leaving.process.processIdentifier, SIGKILL)
        try leaving.waitForExit()

        #expect(try text(of: staying.response(id: "kept")) == "slow kept")
        // The departed client's call is cancelled on the backend (its session ended).
        _ = try waitFor("the backend to see the departed client's call cancelled") {
            try loggedMessages(shared.backendLog).first { $0["method"] as? String == "notifications/cancelled" }
        }
        // The host serves on: the remaining client, and a new one, on the same backend.
        try staying.request("after", "tools/call", ["name": "f__echo", "arguments": ["text": "still here"]])
        #expect(try text(of: staying.response(id: "after")) == "still here")
        let newcomer = try shared.bridge()
        try newcomer.initialize()
        try newcomer.request(1, "tools/call", ["name": "f__echo", "arguments": ["text": "new"]])
        #expect(try text(of: newcomer.response(id: 1)) == "new")
        #expect(shared.hostPIDs.count == 1)
        #expect(shared.backendPIDs.count == 1)
        for bridge in [staying, newcomer] {
            bridge.closeStdin()
            #expect(try bridge.waitForExit() == 0)
        }
    }

    @Test func stdinEOFStillGetsTheAnswersAlreadyAskedFor() throws {
        let shared = try SharedHost()
        defer { shared.tearDown() }
        let bridge = try shared.bridge()
        try bridge.initialize()
        try bridge.request(1, "tools/call", ["name": "f__slow", "arguments": ["ms": 1000, "tag": "late"]])
        try bridge.request(2, "tools/call", ["name": "f__echo", "arguments": ["text": "early"]])
        bridge.closeStdin()
        #expect(try text(of: bridge.response(id: 2)) == "early")
        #expect(try text(of: bridge.response(id: 1)) == "slow late")
        #expect(try bridge.waitForExit() == 0, "\(bridge.stderr)")
        #expect(shared.hostPIDs.count == 1, "the host outlives its clients")
    }

    @Test func aHostThatCannotStartIsAClearErrorAndExitStatus1() throws {
        let shared = try SharedHost()
        defer { shared.tearDown() }
        let missing = shared.directory + "/missing.json"
        let outcome = try runBounded(["connect", "--socket", shared.socket, "--plugins", Paths.pluginsDir, "--config", missing,
                                      "--state-dir", shared.stateDirectory])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasPrefix("mcp-host connect: cannot reach the shared host: the shared host exited with status 64 while starting"),
                "\(outcome.stderr)")
        #expect(outcome.stderr.contains(shared.stateDirectory + "/host.log"), "names the log: \(outcome.stderr)")
        #expect(outcome.stderr.contains("missing.json"), "quotes the log's reason: \(outcome.stderr)")
        #expect(shared.hostPIDs.isEmpty)
    }

    // MARK: - Lifetime

    @Test func theSharedHostExitsWhenIdleAndLeavesNothingBehind() throws {
        let shared = try SharedHost()
        defer { shared.tearDown() }
        let bridge = try shared.bridge(exitWhenIdle: "2s")
        try bridge.initialize()
        try bridge.request(1, "tools/call", ["name": "f__pid", "arguments": [:]])
        let backend = try #require(Int32(try text(of: bridge.response(id: 1))))
        let host = try #require(shared.hostPIDs.first)
        bridge.closeStdin()
        #expect(try bridge.waitForExit() == 0)

        Thread.sleep(forTimeInterval: 0.5)
        #expect(kill(host, 0) == 0, "the host exited before its idle time")
        _ = try waitFor("the idle host to exit", timeout: 15) { kill(host, 0) != 0 || isZombie(host) ? true : nil }
        #expect(waitForNoProcesses(containing: shared.marker).isEmpty, "a backend outlived the idle host")
        #expect(kill(backend, 0) != 0 || isZombie(backend))
        #expect(!FileManager.default.fileExists(atPath: shared.socket), "the socket file was left behind")
        #expect(shared.hostLog.contains("mcp-host exiting: no client for 2s"), "\(shared.hostLog.suffix(2000))")

        // The next client starts a new host.
        let next = try shared.bridge(exitWhenIdle: "2s")
        try next.initialize()
        #expect(shared.hostPIDs.count == 1 && shared.hostPIDs.first != host)
        next.closeStdin()
        #expect(try next.waitForExit() == 0)
    }

    @Test func aSocketOnlyHostServesClientsAndWritesNothingOnStdout() throws {
        let shared = try SharedHost()
        defer { shared.tearDown() }
        let host = try HostProcess(arguments: ["serve"] + shared.options())
        _ = try waitFor("the socket") { FileManager.default.fileExists(atPath: shared.socket) ? true : nil }
        let bridge = try shared.bridge()
        try bridge.initialize()
        try bridge.request(1, "tools/call", ["name": "f__echo", "arguments": ["text": "via socket"]])
        #expect(try text(of: bridge.response(id: 1)) == "via socket")
        #expect(shared.hostPIDs == [host.process.processIdentifier], "the bridge used the running host")

        // A second host on the same socket is refused while the first runs.
        let second = try runBounded(["serve"] + shared.options())
        #expect(second.status == 1)
        #expect(second.stderr.contains("already serves \(shared.socket)"), "\(second.stderr)")

        bridge.closeStdin()
        #expect(try bridge.waitForExit() == 0)
        kill(host.process.processIdentifier, SIGTERM)
        #expect(try host.waitForExit() == 0)
        #expect(host.everyLine.isEmpty, "a socket-only host wrote to stdout: \(host.everyLine)")
        #expect(host.stderr.contains("mcp-host exiting: signal 15"), "\(host.stderr.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: shared.socket))
    }

    // MARK: - The socket and its directory

    @Test func aStaleSocketIsReplaced() throws {
        let shared = try SharedHost(socketDirectoryExists: true)
        defer { shared.tearDown() }
        try makeStaleSocket(at: shared.socket)
        let bridge = try shared.bridge()
        try bridge.initialize()
        try bridge.request(1, "tools/call", ["name": "f__echo", "arguments": ["text": "fresh"]])
        #expect(try text(of: bridge.response(id: 1)) == "fresh")
        #expect(shared.hostLog.contains("replaced a stale socket"), "\(shared.hostLog.suffix(2000))")
        bridge.closeStdin()
        #expect(try bridge.waitForExit() == 0)
    }

    @Test func anUnsafeSocketDirectoryIsRefused() throws {
        let shared = try SharedHost(socketDirectoryExists: true)
        defer { shared.tearDown() }

        // Writable by its group: another user could replace the socket.
        chmod(shared.socketDirectory, 0o770)
        for command in ["connect", "serve"] {
            let outcome = try runBounded([command] + shared.options())
            #expect(outcome.status == 1, "\(command): \(outcome.stderr)")
            #expect(outcome.stderr.contains("refusing to use \(shared.socketDirectory)") && outcome.stderr.contains("its group can write it"),
                    "\(command): \(outcome.stderr)")
        }
        chmod(shared.socketDirectory, 0o700)

        // Owned by another user (needs root to arrange; otherwise the mode check above is the test).
        if getuid() == 0 {
            #expect(chown(shared.socketDirectory, 65534, 65534) == 0)
            for command in ["connect", "serve"] {
                let outcome = try runBounded([command] + shared.options())
                #expect(outcome.status == 1, "\(command): \(outcome.stderr)")
                #expect(outcome.stderr.contains("owned by uid 65534"), "\(command): \(outcome.stderr)")
            }
            #expect(chown(shared.socketDirectory, 0, 0) == 0)
        }

        // Something that is not a socket is never deleted to make room.
        _ = FileManager.default.createFile(atPath: shared.socket, contents: Data("keep".utf8))
        let outcome = try runBounded(["serve"] + shared.options())
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("is not a socket"), "\(outcome.stderr)")
        #expect((try? String(contentsOfFile: shared.socket, encoding: .utf8)) == "keep")
        #expect(shared.hostPIDs.isEmpty, "a host started anyway")
    }

    @Test func badSocketOptionsAreUsageErrors() throws {
        let shared = try SharedHost()
        defer { shared.tearDown() }
        let long = shared.directory + "/" + String(repeating: "s", count: 120) + ".sock"
        let cases: [([String], String)] = [
            (["serve", "--exit-when-idle", "2s"], "add --socket"),
            (["serve", "--socket", shared.socket, "--exit-when-idle", "0"], "--exit-when-idle"),
            (["connect", "--socket", shared.socket, "--exit-when-idle", "soon"], "--exit-when-idle"),
            (["connect", "--socket", shared.socket, "--exit-when-idle", "1e30"], "--exit-when-idle"),
            (["connect", "--socket", long], "at most 107"),
        ]
        for (arguments, named) in cases {
            let outcome = try runBounded(arguments + ["--plugins", Paths.pluginsDir, "--config", shared.config])
            #expect(outcome.status == 64, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.contains(named), "\(arguments): \(outcome.stderr)")
        }
        #expect(shared.hostPIDs.isEmpty)
    }
}

// MARK: - Helpers

/// Runs the binary with stdin at EOF, output to files (no threads), for at most `timeout`
/// seconds (a host that wrongly starts is killed and reported).
private func runBounded(_ arguments: [String], timeout: Double = 20) throws -> (status: Int32, stderr: String) {
    let directory = try Paths.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let errPath = directory + "/stderr"
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Paths.host)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle(forWritingAtPath: errPath)
    try process.run()
    let limit = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < limit { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        throw TestFailure("mcp-host \(arguments) did not exit within \(timeout) s")
    }
    process.waitUntilExit()
    return (process.terminationStatus, (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

/// Leaves a socket file nobody listens on, as a killed host does.
private func makeStaleSocket(at path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0 else { throw TestFailure("bind \(path): \(errno)") }
}

/// Whether `pid` has exited but not been reaped yet (its parent is another test's process).
private func isZombie(_ pid: Int32) -> Bool {
    guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return false }
    return String(decoding: stat, as: UTF8.self).contains(") Z ")
}
