import Foundation
import Testing

/// Two hosts (`--replica-id a` and `b`) behind HAProxy running the shipped
/// `examples/haproxy/haproxy.cfg`: sessions stay on the host that issued their id, legacy SSE
/// sessions too, and when a host is killed its sessions get 404 and a client that initializes again
/// continues on the other host. Which host served a call is told three ways: the replica prefix of
/// the session id, the backend pid the call returns (each host runs its own backend process), and
/// each host's own `/health` (sessions and requests served), read directly, not through HAProxy.
/// Fails (never skips) when haproxy is missing.
///
/// It runs twice: with the example as shipped (method 1, routing on the replica prefix) and with
/// its commented method 2 (a stick table learning each id from the initialize response) in its
/// place. Method 2 cannot pin the legacy transport (its id is not in a header), so only method 1
/// runs the legacy part.
@Suite(.serialized)
struct HAProxyTests {
    enum Pinning: String, CaseIterable, Sendable {
        case replicaPrefix
        case stickTable
    }

    static let callsPerSession = 3
    static let sessions = 8

    /// One call of the fake backend's `pid` tool through HAProxy; the pid it answers.
    private func pid(via proxy: HTTPEndpoint, session: String, id: Int) async throws -> String {
        let reply = try await proxy.post(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"f__pid","arguments":{}}}"#, session: session)
        guard reply.status == 200, let json = reply.json, let pid = firstText(json) else {
            throw TestFailure("tools/call in session \(session) through HAProxy: \(reply.status) \(reply.body)")
        }
        return pid
    }

    /// A host's own view, read from its port: open sessions and requests its backend `f` served.
    private func usage(of host: HTTPHost) async throws -> (sessions: Int, served: Int) {
        let document = try #require(try await host.send("GET", "/health").json)
        let backend = (document["backends"] as? [String: Any])?["f"] as? [String: Any]
        return (document["active_clients"] as? Int ?? -1, backend?["requests_served"] as? Int ?? 0)
    }

    /// Every process the test started ends here, also when an expectation failed: HAProxy, the hosts
    /// (SIGTERM: each stops its backend), and then the backends must be gone.
    private static func stopAll(haproxy: HAProxyProcess, hosts: [HTTPHost], backends: [Int32], logDirectory: String) {
        haproxy.stop()
        // HAProxy's log (one line per request: which host took it, retries, status) stays for a
        // failure's diagnosis.
        let logPath = logDirectory + "/haproxy.log"
        if (try? Data(haproxy.log.utf8).write(to: URL(fileURLWithPath: logPath))) != nil {
            FileHandle.standardError.write(Data("HAProxyTests: HAProxy's log is in \(logPath)\n".utf8))
        }
        for host in hosts where host.host.process.isRunning {
            host.host.process.terminate()
            _ = try? host.host.waitForExit()
        }
        // Alive: listed in /proc and not a zombie (an orphan's zombie may wait for a reaper).
        let alive = { (pid: Int32) -> Bool in
            guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return false }
            return !String(decoding: stat, as: UTF8.self).contains(") Z ")
        }
        for pid in backends {
            let deadline = Date().addingTimeInterval(10)
            while alive(pid) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            #expect(!alive(pid), "backend \(pid) outlived its host")
        }
    }

    @Test(arguments: Pinning.allCases)
    func sessionsStayOnTheirHostAndMoveOnAfterACrash(pinning: Pinning) async throws {
        _ = try HAProxyProcess.executable() // fails first, with how to install it, when it is missing
        let dir = try Paths.temporaryDirectory()
        let config = try writeConfig(["f": fakeServer(name: "f")], in: dir)
        let hostA = try HTTPHost(config: config, extra: ["--replica-id", "a"], logLevel: "info")
        let hostB = try HTTPHost(config: config, extra: ["--replica-id", "b"], logLevel: "info")
        let hosts = ["a": hostA, "b": hostB]
        let haproxy = try HAProxyProcess.start(hostA: hostA.port, hostB: hostB.port,
                                               config: pinning == .replicaPrefix ? HAProxyProcess.config : try HAProxyProcess.stickTableVariant(in: dir))
        var backendPIDs: [String: String] = [:]
        defer { Self.stopAll(haproxy: haproxy, hosts: [hostA, hostB], backends: backendPIDs.values.compactMap { Int32($0) }, logDirectory: dir) }
        try await haproxy.waitFor(server: "a", state: "UP")
        try await haproxy.waitFor(server: "b", state: "UP")
        let proxy = HTTPEndpoint(port: haproxy.port)

        // 1. Sessions opened through HAProxy, each issued by one of the hosts (its prefix says which).
        var sessions: [String] = []
        for _ in 0..<Self.sessions { sessions.append(try await proxy.initialize()) }
        let replicaOf = { (session: String) in String(session.prefix { $0 != "-" }) }
        let byHost = Dictionary(grouping: sessions, by: replicaOf)
        #expect(Set(byHost.keys) == ["a", "b"], "both hosts issue sessions: \(sessions)")

        // 2. Several calls per session, all sessions at once: every call lands on the host that
        // issued its session (elsewhere it would get 404), so a session sees one backend pid, the
        // pid of its own host's backend.
        let answers = try await withThrowingTaskGroup(of: (String, [String]).self) { group in
            for session in sessions {
                group.addTask {
                    var pids: [String] = []
                    for call in 0..<Self.callsPerSession { pids.append(try await self.pid(via: proxy, session: session, id: call + 1)) }
                    return (session, pids)
                }
            }
            var answers: [String: [String]] = [:]
            for try await (session, pids) in group { answers[session] = pids }
            return answers
        }
        for replica in ["a", "b"] {
            let pids = Set((byHost[replica] ?? []).flatMap { answers[$0] ?? [] })
            #expect(pids.count == 1, "every call of host \(replica)'s sessions reaches host \(replica)'s one backend: \(pids)")
            backendPIDs[replica] = pids.first
        }
        #expect(backendPIDs["a"] != nil && backendPIDs["a"] != backendPIDs["b"], "the hosts run their own backends: \(backendPIDs)")
        // Each host's own count, read from it directly: exactly its sessions, exactly their calls.
        for (replica, host) in hosts {
            let mine = byHost[replica]?.count ?? 0
            let seen = try await usage(of: host)
            #expect(seen.sessions == mine, "host \(replica) holds its \(mine) sessions")
            #expect(seen.served == mine * Self.callsPerSession, "host \(replica) served the calls of its sessions and no other")
        }

        // 3. Legacy HTTP+SSE through HAProxy: the stream's endpoint names the host (its prefix), the
        // POSTs to it reach that host (answers arrive on the stream, from that host's backend). Two
        // streams, balanced round-robin, one per host; the second uses the `sessionId` spelling.
        var legacy: [String: LegacyStream] = [:]
        for (index, parameter) in (pinning == .replicaPrefix ? ["session_id", "sessionId"] : [String]()).enumerated() {
            let stream = try LegacyStream(port: haproxy.port)
            let endpoint = try await stream.event(containing: "event: endpoint")
            let match = try #require(endpoint.firstMatch(of: /session_id=([A-Za-z0-9_-]+)/), "endpoint event: \(endpoint)")
            let session = String(match.1)
            let replica = replicaOf(session)
            let host = try #require(hosts[replica], "legacy session \(session) names no host")
            let before = try await usage(of: host)
            let path = "/messages?\(parameter)=\(session)"
            let post = { (message: String) async throws -> Int in
                try await proxy.send("POST", path, headers: ["Content-Type": "application/json"], body: message).status
            }
            #expect(try await post(#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"legacy","version":"1"}}}"#) == 202)
            _ = try await stream.event(containing: "protocolVersion") // only the initialize result has it
            #expect(try await post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#) == 202)
            #expect(try await post(#"{"jsonrpc":"2.0","id":"call","method":"tools/call","params":{"name":"f__pid","arguments":{}}}"#) == 202)
            let answer = try await stream.event(containing: "content") // only the tools/call result has it
            let pid = answer.firstMatch(of: /"text"\s*:\s*"(\d+)"/).map { String($0.1) }
            #expect(pid != nil && pid == backendPIDs[replica], "legacy call \(index) answered by host \(replica)'s backend: \(answer)")
            let after = try await usage(of: host)
            #expect(after.sessions == before.sessions && after.served == before.served + 1,
                    "the legacy session and its call are on host \(replica) (before \(before), after \(after))")
            legacy[replica] = stream
        }
        if pinning == .replicaPrefix {
            #expect(Set(legacy.keys) == ["a", "b"], "the two legacy streams went one to each host")
        }

        // 4. Host a dies (kill -9) while one of its sessions has a call in flight (were the cut
        // request not retried, HAProxy would answer it 502 when it is the first on its client
        // connection, else close that connection without an answer). The cut call gets 404, before the health check
        // has noticed: it is tried once more on a (refused), and the last retry goes to b (option
        // redispatch), which does not know the session. Then every request of a's sessions gets
        // 404 the same way; host b's sessions go on.
        let lostSessions = try #require(byHost["a"], "host a issued sessions")
        let servedBeforeSlow = try await usage(of: hostA).served // a call counts once it is at the backend
        let inFlight = Task {
            try await proxy.post(#"{"jsonrpc":"2.0","id":40,"method":"tools/call","params":{"name":"f__slow","arguments":{"ms":20000}}}"#, session: lostSessions[0])
        }
        let deadline = Date().addingTimeInterval(20)
        while try await usage(of: hostA).served <= servedBeforeSlow {
            guard Date() < deadline else { throw TestFailure("the slow call never reached host a") }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(hostA.host.process.processIdentifier, SIGKILL)
        _ = try hostA.host.waitForExit()
        let cut = try await inFlight.value
        #expect(cut.status == 404, "the call in flight on the dead host: \(cut.status) \(cut.body)")
        for session in lostSessions {
            let reply = try await proxy.post(#"{"jsonrpc":"2.0","id":50,"method":"tools/call","params":{"name":"f__pid","arguments":{}}}"#, session: session)
            #expect(reply.status == 404, "session \(session) of the dead host: \(reply.status) \(reply.body)")
        }
        for session in byHost["b"] ?? [] {
            #expect(try await pid(via: proxy, session: session, id: 60) == backendPIDs["b"])
        }
        if let stream = legacy["a"] {
            #expect(await stream.waitForEnd(), "the legacy stream of the dead host ends")
        }

        // 5. Once HAProxy's health check has marked a DOWN, the rule naming it is skipped: still 404
        // (from b), with the JSON-RPC error that tells the client to initialize again.
        try await haproxy.waitFor(server: "a", state: "DOWN")
        let servedBefore = try await usage(of: hostB).served
        for session in lostSessions {
            let reply = try await proxy.post(#"{"jsonrpc":"2.0","id":70,"method":"tools/call","params":{"name":"f__pid","arguments":{}}}"#, session: session)
            #expect(reply.status == 404, "session \(session) of the dead host, a DOWN: \(reply.status) \(reply.body)")
            #expect(((reply.json?["error"] as? [String: Any])?["message"] as? String)?.contains("initialize again") == true, "\(reply.body)")
        }

        // 6. Each client of the dead host initializes again: its new session is issued by b, and
        // its calls succeed there.
        var renewed: [String] = []
        for _ in lostSessions {
            let session = try await proxy.initialize()
            #expect(replicaOf(session) == "b", "a new session after the crash is issued by the surviving host: \(session)")
            for call in 0..<Self.callsPerSession {
                #expect(try await pid(via: proxy, session: session, id: 80 + call) == backendPIDs["b"])
            }
            renewed.append(session)
        }
        let survivor = try await usage(of: hostB)
        #expect(survivor.served == servedBefore + renewed.count * Self.callsPerSession, "every renewed call was served by b")
        #expect(survivor.sessions == (byHost["b"]?.count ?? 0) + (legacy["b"] == nil ? 0 : 1) + renewed.count,
                "b holds its sessions, its legacy one (method 1) and the renewed ones")
    }
}
