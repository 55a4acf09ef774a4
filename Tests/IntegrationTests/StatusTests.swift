import Foundation
import Testing

/// `/health`'s per-backend status and `mcp-host status`, against the real binary and real backends.
@Suite(.serialized)
struct StatusTests {
    @Test func healthShowsEachBackendsLifecycleAndStatusPrintsIt() async throws {
        let dir = try Paths.temporaryDirectory()
        let broken: [String: Any] = ["command": dir + "/no-such-program"]
        let http = try HTTPHost(config: try writeConfig(["f": fakeServer(name: "f"), "broken": broken, "spare": fakeServer(name: "spare")], in: dir))
        defer { http.host.process.terminate() }
        let session = try await http.initialize()
        let call = try await http.post(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"f__pid","arguments":{}}}"#, session: session)
        #expect(call.status == 200, "\(call.body)")
        let failed = try await http.post(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"broken__x","arguments":{}}}"#, session: session)
        #expect(failed.body.contains("error"), "\(failed.body)")

        let health = try #require(try await http.send("GET", "/health").json)
        let backends = try #require(health["backends"] as? [String: [String: Any]])
        let f = try #require(backends["f"])
        #expect(f["state"] as? String == "idle", "ready with nothing in flight: \(f)")
        #expect(f["requests_served"] as? Int == 1)
        #expect(f["starts"] as? Int == 1)
        #expect(f["idle_tier"] as? String == "quiet")
        #expect(f["idle_timeout_seconds"] as? Double == 60)
        #expect((f["uptime_seconds"] as? Double).map { $0 >= 0 } == true)
        let pid = try #require(f["pid"] as? Int)
        #expect(kill(pid_t(pid), 0) == 0, "the pid is a live process")
        let broke = try #require(backends["broken"])
        #expect(broke["state"] as? String == "backing-off", "\(broke)")
        #expect((broke["last_error"] as? String)?.contains("no-such-program") == true, "\(broke)")
        #expect((broke["backoff_seconds"] as? Double).map { $0 > 0 } == true, "\(broke)")
        #expect(broke["pid"] == nil)
        let spare = try #require(backends["spare"])
        #expect(spare["state"] as? String == "stopped")
        #expect(spare["idle_tier"] as? String == "warm-up")

        let printed = try run(Paths.host, ["status", "--url", http.base])
        #expect(printed.status == 0, "\(printed.stderr)")
        let line = printed.stdout.split(separator: "\n").first { $0.hasPrefix("f ") }.map(String.init) ?? ""
        #expect(line.contains("idle") && line.contains("\(pid)") && line.contains("60s (quiet)"), "\(printed.stdout)")
        #expect(printed.stdout.contains("backing-off (retry in"), "\(printed.stdout)")
        #expect(printed.stdout.contains("failed to start"), "\(printed.stdout)")
    }

    /// `status` reads another process's answer: absurd numbers never trap, and text a backend
    /// could have written (its stderr ends up in last_error) reaches the terminal without control
    /// characters.
    @Test func aHostileHealthBodyNeitherCrashesStatusNorReachesTheTerminalRaw() throws {
        let body = #"{"version":"1\u001b]0;title\u0007","tools":1e300,"backends":{"b\u001b[2Jx":{"state":"ready","pid":"7\nFAKE ROW","#
            + #""uptime_seconds":1e300,"idle_timeout_seconds":1.7e308,"last_error_seconds_ago":9.3e18,"backoff_seconds":-1,"#
            + #""requests_served":1e300,"last_error":"boom\u001b[31m\r\nFAKE LINE\u202e"}}}"#
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", """
            import socket, sys
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
            print(s.getsockname()[1], flush=True)
            c, _ = s.accept(); c.recv(65536)
            body = sys.argv[1].encode()
            c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % len(body) + body)
            c.close()
            """, body]
        let output = Pipe()
        server.standardOutput = output
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        var portText = ""
        while !portText.hasSuffix("\n") {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { break }
            portText += String(decoding: byte, as: UTF8.self)
        }
        let port = try #require(Int(portText.trimmingCharacters(in: .whitespacesAndNewlines)), "no port from the fake host")
        let printed = try run(Paths.host, ["status", "--url", "http://127.0.0.1:\(port)"])
        #expect(printed.status == 0, "status \(printed.status): \(printed.stderr)")
        #expect(!printed.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || $0.value == 0x202E }, "\(printed.stdout.debugDescription)")
        let lines = printed.stdout.split(separator: "\n")
        #expect(lines.count == 3, "header, column titles, one backend: \(printed.stdout)")
        #expect(!lines.contains { $0.hasPrefix("FAKE") }, "\(printed.stdout)")
    }

    @Test func statusSendsTheHostsBearerTokenAndSaysWhenItIsMissing() async throws {
        let dir = try Paths.temporaryDirectory()
        let token = "status-test-token-\(UUID().uuidString.prefix(8))"
        let http = try HTTPHost(config: try writeConfig(["f": fakeServer(name: "f")], in: dir), environment: ["MCP_HOST_AUTH_TOKEN": token])
        defer { http.host.process.terminate() }
        let refused = try run(Paths.host, ["status", "--url", http.base], environment: ["MCP_HOST_AUTH_TOKEN": ""])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("401") && refused.stderr.contains("--auth-token-file"), "\(refused.stderr)")
        try (token + "\n").write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        let answered = try run(Paths.host, ["status", "--url", http.base, "--auth-token-file", dir + "/token"], environment: ["MCP_HOST_AUTH_TOKEN": ""])
        #expect(answered.status == 0, "\(answered.stderr)")
        #expect(answered.stdout.contains("f ") && answered.stdout.contains("stopped"), "\(answered.stdout)")
        let viaEnvironment = try run(Paths.host, ["status", "--url", http.base, "--json"], environment: ["MCP_HOST_AUTH_TOKEN": token])
        #expect(viaEnvironment.status == 0)
        #expect(viaEnvironment.stdout.contains("\"backends\""))
        let nobody = try run(Paths.host, ["status", "--url", "http://127.0.0.1:1"])
        #expect(nobody.status == 1)
        #expect(nobody.stderr.contains("no host answers"), "\(nobody.stderr)")
    }
}
