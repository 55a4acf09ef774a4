import Foundation
import Synchronization
import Testing

/// The TCP transport (examples/tcp-transport, plugins.d/40-tcp.plugin: a plugin in plain C) through
/// the real mcp-host, against `python/tcp_server.py`, an MCP server on a TCP socket speaking
/// newline-delimited JSON. Every test starts its own server(s) on free loopback ports and its own host.
@Suite(.serialized)
struct TCPTransportTests: StdioHostSuite {
    // MARK: - Helpers

    static var plugin: String { Paths.buildDir + "/libmcph-tcp.so" }
    static var manifest: String { Paths.pluginsDir + "/40-tcp.plugin" }

    /// What every test needs; a missing piece is a failure that says how to fix it, never a skip.
    static func checkPrerequisites() throws {
        guard FileManager.default.fileExists(atPath: plugin) else {
            throw TestFailure("the TCP transport plugin is not built (\(plugin) is missing): run swift build")
        }
        guard FileManager.default.fileExists(atPath: manifest) else {
            throw TestFailure("no manifest for the TCP transport plugin at \(manifest)")
        }
    }

    /// A server entry for the TCP transport.
    func entry(_ port: Int, _ extra: [String: Any] = [:]) -> [String: Any] {
        var entry: [String: Any] = ["transport": "tcp", "host": "127.0.0.1", "port": port]
        for (key, value) in extra { entry[key] = value }
        return entry
    }

    // MARK: - Loading

    /// The plugin loads under its id and transport name and exports nothing but the entry symbol.
    @Test func thePluginLoadsAndExportsOnlyItsEntry() throws {
        try Self.checkPrerequisites()
        let plugins = try run(Paths.host, ["plugins", "--plugins", Paths.pluginsDir])
        #expect(plugins.stdout.contains("loaded   mcph.tcp"), "\(plugins.stdout)\n\(plugins.stderr)")
        #expect(plugins.stdout.contains("abi=1.4"), "\(plugins.stdout)")
        #expect(plugins.stdout.contains("transport tcp"), "\(plugins.stdout)")
        let nm = try run("/usr/bin/env", ["nm", "-D", "--defined-only", Self.plugin])
        guard nm.status == 0 else { throw TestFailure("nm -D failed (binutils needed): \(nm.stderr)") }
        let symbols = nm.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(symbols == ["mcph_plugin_entry_v1"], "exported: \(symbols)")
    }

    // MARK: - Lists, calls, framing

    /// tools/list and calls through mcp-host; an answer cut into fragments (two messages in one
    /// read, one message across reads, CRLF), and a 1 MB answer, arrive whole.
    @Test func listAndCall() throws {
        let server = try TCPServer()
        let host = try stdioHost(["t": entry(server.port)])
        defer { end(host) }
        try host.request("list", "tools/list")
        let tools = ((try host.response(id: "list")["result"] as? [String: Any])?["tools"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        for name in ["t__echo", "t__slow", "t__progress", "t__who", "t__split"] {
            #expect(tools.contains(name), "\(name) missing from \(tools)")
        }
        let text = "über tcp ✓ \"quoted\"\nsecond line\r\n\ttab"
        #expect(firstText(try call(host, 1, "t__echo", ["text": text])) == text)
        #expect(firstText(try call(host, 2, "t__who")) == "\(server.pid)/1", "one connection so far")

        let before = host.everyLine.count
        let split = try call(host, 3, "t__split", meta: ["progressToken": "cut"])
        #expect(firstText(split) == "split ✓ answer", "\(split)")
        let progress = host.everyLine.dropFirst(before).filter { $0.contains("notifications/progress") && $0.contains("\"cut\"") }
        #expect(progress.count == 1, "the notification that shared a read with the answer's start: \(progress)")

        // 1 MB: many reads for one message. (Larger answers are slow in HostProcess's stdout reader,
        // not in the host; the 64 MiB bound is tested by aMessageTooLargeEndsTheConnectionClearly.)
        let big = try call(host, 4, "t__big", ["size": 1_000_000])
        #expect(firstText(big)?.utf8.count == 1_000_000, "\(String(describing: firstText(big)?.utf8.count))")
        #expect(firstText(try call(host, 5, "t__who")) == "\(server.pid)/1", "still the same connection")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
        // The host's close flushed, half-closed and waited: the server saw its connection end.
        _ = try waitFor("the server to see the connection closed", timeout: 10) { server.closedConnections >= 1 ? true : nil }
    }

    @Test func twentyConcurrentSlowCallsAreAllAnswered() throws {
        let server = try TCPServer()
        let host = try stdioHost(["t": entry(server.port)])
        defer { end(host) }
        #expect(firstText(try call(host, "warm", "t__echo", ["text": "warm"])) == "warm")
        let ids = (0..<20).map { "slow-\($0)" }
        let start = Date()
        for (index, id) in ids.enumerated() {
            try host.request(id, "tools/call", ["name": "t__slow", "arguments": ["ms": 1000, "tag": "\(index)"]])
        }
        let got = try answers(host, ids, since: start, timeout: 60)
        for (index, id) in ids.enumerated() {
            #expect(got[id].flatMap { firstText($0.json) } == "slow \(index)", "\(id): \(String(describing: got[id]?.json))")
        }
        // Twenty one-second calls in one connection run side by side (one after another is 20 s).
        let slowest = got.values.map(\.seconds).max() ?? 99
        #expect(slowest < 10, "the last answer came after \(slowest) s")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    @Test func progressReachesTheCallerBeforeTheAnswer() throws {
        let server = try TCPServer()
        let host = try stdioHost(["t": entry(server.port)])
        defer { end(host) }
        let before = host.everyLine.count
        let answer = try call(host, 1, "t__progress", ["steps": 4, "ms": 30, "tag": "p"], meta: ["progressToken": 77])
        #expect(firstText(answer) == "progress p", "\(answer)")
        let lines = Array(host.everyLine.dropFirst(before))
        let steps: [Double] = lines.compactMap { line in
            guard let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                  json["method"] as? String == "notifications/progress",
                  let params = json["params"] as? [String: Any], sameID(params["progressToken"], 77) else { return nil }
            return params["progress"] as? Double
        }
        #expect(steps == [1, 2, 3, 4], "\(lines)")
        let answerIndex = lines.firstIndex { $0.contains("progress p") } ?? -1
        let lastProgress = lines.lastIndex { $0.contains("notifications/progress") } ?? Int.max
        #expect(lastProgress < answerIndex, "every progress notification came before the answer")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - The connection is lost

    /// The server closes the connection while a call is in flight: that call fails with an error
    /// naming the backend; the host opens a new connection (a new MCP session) for the next call.
    @Test func aLostConnectionFailsTheCallInFlightAndTheNextCallReconnects() throws {
        let server = try TCPServer(["--close-after", "2"])
        let host = try stdioHost(["t": entry(server.port)])
        defer { end(host) }
        #expect(firstText(try call(host, 1, "t__who")) == "\(server.pid)/1")
        let lost = try call(host, 2, "t__slow", ["ms": 60_000], timeout: 30) // the 2nd call: the server hangs up
        let error = failure(lost) ?? ""
        #expect(error.contains("'t'") && error.contains("connection lost"), "\(lost)")
        let again = try call(host, 3, "t__who")
        #expect(firstText(again) == "\(server.pid)/2", "a new connection, initialized again: \(again)\n\(host.stderr.suffix(3000))")
        #expect(server.connectionsOpened == 2)
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// The server process dies mid-call and a new one starts on the same port: the call in flight
    /// fails at once (not at its timeout), and the next call reaches the new process.
    @Test func aServerThatDiesAndComesBackIsReachedAgain() throws {
        let first = try TCPServer()
        let host = try stdioHost(["t": entry(first.port)], extra: ["--request-timeout", "120"])
        defer { end(host) }
        #expect(firstText(try call(host, 1, "t__who")) == "\(first.pid)/1")
        try host.request("inflight", "tools/call", ["name": "t__slow", "arguments": ["ms": 600_000]])
        _ = try waitFor("the call to reach the server", timeout: 20) { first.calls("slow") == 1 ? true : nil }
        let killed = Date()
        first.stop()
        let inflight = try host.response(id: "inflight", timeout: 30)
        #expect(failure(inflight)?.contains("'t'") == true, "\(inflight)")
        #expect(Date().timeIntervalSince(killed) < 10, "answered \(Date().timeIntervalSince(killed)) s after the server died")

        let second = try TCPServer(port: first.port)
        let who = try call(host, 2, "t__who")
        #expect(firstText(who) == "\(second.pid)/1", "the new process answered: \(who)\n\(host.stderr.suffix(3000))")
        #expect(firstText(try call(host, 3, "t__echo", ["text": "back"])) == "back")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// A line longer than 64 MiB ends the connection with "message too large"; the next call works.
    @Test func aMessageTooLargeEndsTheConnectionClearly() throws {
        let server = try TCPServer()
        let host = try stdioHost(["t": entry(server.port)])
        defer { end(host) }
        let huge = try call(host, 1, "t__huge", ["size": 65 * 1024 * 1024], timeout: 60)
        let error = failure(huge) ?? ""
        #expect(error.contains("'t'") && error.contains("message too large"), "\(huge)")
        #expect(firstText(try call(host, 2, "t__who")) == "\(server.pid)/2", "a new connection")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Connecting

    /// Nothing listens: the call fails with a clear error within connect_timeout, while another
    /// backend of the same host answers at once.
    @Test func aRefusedConnectionFailsWithinItsTimeoutWhileAnotherBackendWorks() throws {
        let healthy = try TCPServer()
        let refusedPort = try unusedPort()
        let host = try stdioHost([
            "ok": entry(healthy.port),
            "refused": entry(refusedPort, ["connect_timeout": "2s"]),
        ])
        defer { end(host) }
        #expect(firstText(try call(host, "warm", "ok__echo", ["text": "up"])) == "up")
        let start = Date()
        try host.request("refused", "tools/call", ["name": "refused__echo", "arguments": ["text": "anyone?"]])
        try host.request("ok-slow", "tools/call", ["name": "ok__slow", "arguments": ["ms": 300, "tag": "a"]])
        try host.request("ok-echo", "tools/call", ["name": "ok__echo", "arguments": ["text": "unaffected"]])
        let got = try answers(host, ["refused", "ok-slow", "ok-echo"], since: start, timeout: 60)
        let refused = got["refused"].flatMap { failure($0.json) } ?? ""
        #expect(refused.contains("'refused'") && refused.contains("Connection refused") && refused.contains("127.0.0.1:\(refusedPort)"),
                "\(String(describing: got["refused"]?.json))")
        let seconds = got["refused"]?.seconds ?? 99
        #expect(seconds >= 1.5 && seconds < 8, "refused answered after \(seconds) s; its connect_timeout is 2 s")
        #expect(got["ok-echo"].flatMap { firstText($0.json) } == "unaffected")
        #expect(got["ok-slow"].flatMap { firstText($0.json) } == "slow a")
        #expect((got["ok-echo"]?.seconds ?? 99) < seconds, "the healthy backend answered while the other was connecting: \(got.mapValues(\.seconds))")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// With "reconnect" (the default) the first connect is retried until connect_timeout: a
    /// server that starts a little after the host's call is reached.
    @Test func aServerThatStartsLateIsReachedWithinConnectTimeout() throws {
        let port = try unusedPort()
        let host = try stdioHost(["late": entry(port, ["connect_timeout": "20s"])])
        defer { end(host) }
        try host.request(1, "tools/call", ["name": "late__echo", "arguments": ["text": "worth the wait"]])
        Thread.sleep(forTimeInterval: 1.5)
        #expect(host.output.first { $0.contains("\"id\":1") } == nil, "no answer before the server exists")
        let server = try TCPServer(port: port)
        let answer = try host.response(id: 1, timeout: 30)
        #expect(firstText(answer) == "worth the wait", "\(answer)\n\(host.stderr.suffix(3000))")
        #expect(server.connectionsOpened == 1)
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    /// Bad settings are refused at open with an error naming the server and the key; a good server
    /// beside them works.
    @Test func configErrorsNameTheKey() throws {
        let server = try TCPServer()
        let host = try stdioHost([
            "ok": entry(server.port),
            "badport": entry(70_000),
            "noport": ["transport": "tcp", "host": "127.0.0.1"],
            "badtimeout": entry(server.port, ["connect_timeout": "5x"]),
            "badreconnect": entry(server.port, ["reconnect": "yes"]),
            "badhost": ["transport": "tcp", "host": "http://127.0.0.1/", "port": server.port],
        ])
        defer { end(host) }
        #expect(firstText(try call(host, 1, "ok__echo", ["text": "fine"])) == "fine")
        for (index, (name, key)) in [("badport", "port"), ("noport", "port"), ("badtimeout", "connect_timeout"),
                                      ("badreconnect", "reconnect"), ("badhost", "host")].enumerated() {
            let answer = try call(host, 10 + index, "\(name)__echo", ["text": "x"])
            let error = failure(answer) ?? ""
            #expect(error.contains("'\(name)'") && error.contains("\"\(key)\""), "\(name): \(answer)")
        }
        #expect(server.connectionsOpened == 1, "only the good server connected")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Back-pressure

    /// The server stops reading while a client sends 12 MB of calls: the plugin's queue fills
    /// (MCPH_E_AGAIN, logged), the host keeps serving another backend, and once the server reads
    /// again every call is answered, none lost or mangled.
    @Test func aServerThatStopsReadingDoesNotStallTheHostAndLosesNothing() throws {
        let slow = try TCPServer(["--rcvbuf", "65536"])
        let other = try TCPServer()
        let host = try stdioHost([
            "s": entry(slow.port, ["send_queue_bytes": 1_048_576, "send_queue_messages": 64]),
            "o": entry(other.port),
        ], extra: ["--request-timeout", "120"])
        defer { end(host) }
        #expect(firstText(try call(host, "warm-o", "o__echo", ["text": "up"])) == "up")
        #expect(firstText(try call(host, "stall", "s__stall", ["ms": 6000])) == "stalling")

        let payload = String(repeating: "p", count: 200_000)
        let ids = (0..<60).map { "big-\($0)" }
        let start = Date()
        for (index, id) in ids.enumerated() {
            try host.request(id, "tools/call", ["name": "s__echo", "arguments": ["text": "\(index):" + payload]])
        }
        let otherAnswer = try call(host, "other", "o__echo", ["text": "still here"], timeout: 10)
        let otherSeconds = Date().timeIntervalSince(start)
        #expect(firstText(otherAnswer) == "still here")
        #expect(slow.stderr.contains("stall over") == false, "the other backend answered while the server was not reading")
        _ = try waitFor("the plugin to report its full queue", timeout: 20) {
            host.stderr.contains("send queue full") ? true : nil
        }

        let got = try answers(host, ids, since: start, timeout: 90)
        for (index, id) in ids.enumerated() {
            let text = got[id].flatMap { firstText($0.json) }
            #expect(text == "\(index):" + payload, "\(id): \(text?.prefix(80) ?? "no text") \(String(describing: got[id].flatMap { failure($0.json) }))")
        }
        #expect(host.stderr.contains("writable again"), "WRITABLE after the queue drained")
        #expect(otherSeconds < (got.values.map(\.seconds).min() ?? 0) + 1, "the other backend did not wait for the stalled one")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    // MARK: - Nothing left behind

    /// Connections the reaper closes leave no thread of the plugin ("mcph-tcp") and no descriptor.
    @Test func closedConnectionsLeaveNoThreadOrDescriptor() throws {
        let server = try TCPServer()
        let host = try stdioHost(["t": entry(server.port, ["idle_timeout": "1s"])])
        defer { end(host) }
        let pid = host.process.processIdentifier
        var descriptors: [Int] = []
        for round in 1...4 {
            #expect(firstText(try call(host, round, "t__who")) == "\(server.pid)/\(round)")
            #expect(threads(of: pid, named: "mcph-tcp") == 1, "one connection thread while connected")
            _ = try waitFor("the reaper to close connection \(round)", timeout: 30) { server.closedConnections >= round ? true : nil }
            _ = try waitFor("the connection's thread to end", timeout: 10) { threads(of: pid, named: "mcph-tcp") == 0 ? true : nil }
            Thread.sleep(forTimeInterval: 0.3) // destroy runs after the terminal event
            descriptors.append(openDescriptors(of: pid))
        }
        #expect(descriptors[3] <= descriptors[1], "descriptors after each closed connection: \(descriptors)")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    func threads(of pid: Int32, named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.filter { task in
            (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }.count
    }

    func openDescriptors(of pid: Int32) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }
}

/// `Tests/IntegrationTests/python/tcp_server.py` on 127.0.0.1 (port 0 = a free one, read from its
/// ready file). Killed (SIGKILL) by `stop()` or when released, so a failing test leaves nothing behind.
final class TCPServer: ScriptServer, @unchecked Sendable { // immutable past init; see ScriptServer
    init(_ options: [String] = [], port: Int = 0, timeout: Double = 30) throws {
        let script = Paths.pythonDir + "/tcp_server.py"
        guard FileManager.default.fileExists(atPath: script) else { throw TestFailure("the fixture \(script) is missing") }
        try super.init(name: "tcp_server.py", executable: "/usr/bin/env", arguments: ["python3", "-u", script],
                       port: port, options: options, timeout: timeout, hint: " (python3 is needed)")
    }

    var pid: Int32 { process.processIdentifier }

    private func count(_ line: String) -> Int { stderr.split(separator: "\n").filter { $0 == line }.count }
    private func count(prefix: String, suffix: String) -> Int {
        stderr.split(separator: "\n").filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.count
    }

    /// Calls of `tool` that reached the server.
    func calls(_ tool: String) -> Int { count("tcp_server call \(tool)") }
    var connectionsOpened: Int { count(prefix: "tcp_server connection ", suffix: " opened") }
    var closedConnections: Int { count(prefix: "tcp_server connection ", suffix: " closed") }
}
