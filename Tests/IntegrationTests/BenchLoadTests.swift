import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// `mcp-bench-load` (Sources/BenchLoad), the HTTP load generator of the benchmark: its own counting
/// checked against the real host (with `mcp-bench-echo` behind it) and against servers that
/// misbehave. Nothing here asserts timing: only counts, kinds and exit statuses.
@Suite(.serialized)
struct BenchLoadTests {
    static var loader: String { Paths.buildDir + "/mcp-bench-load" }

    /// A host serving `mcp-bench-echo` as `example` (so `example__echo` answers).
    static func echoHost() throws -> HTTPHost {
        let dir = try Paths.temporaryDirectory()
        let config = try writeConfig(["example": ["command": Paths.buildDir + "/mcp-bench-echo"]], in: dir)
        return try HTTPHost(config: config, logLevel: "info")
    }

    /// The pure readers (head, chunked, SSE, JSON-RPC top level) and the histogram, fed at every
    /// split point of their inputs (Sources/BenchLoad/selftest.c).
    @Test func selfTest() throws {
        let run = try LoadRun(["--self-test"])
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus == 0, "\(run.readStderr())")
    }

    @Test func countsEveryCallExactly() throws {
        let http = try Self.echoHost()
        let run = try LoadRun(["--url", "\(http.base)/mcp", "--calls", "600", "--sessions", "6", "--per-session-list"])
        let result = try run.finish()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(result.int("calls") == 600)
        #expect(result.int("errors") == 0)
        let perSession = try #require(result.json["per_session_calls"] as? [Int])
        #expect(perSession.count == 6)
        #expect(perSession.reduce(0, +) == 600)
        #expect(perSession.allSatisfy { $0 > 0 }, "every session called: \(perSession)")
        #expect(result.int("sse_answers") == 0)
        #expect(result.int("deleted") == 6, "the sessions are ended with DELETE")
        let latency = try #require(result.json["latency_us"] as? [String: Double])
        #expect((latency["p50"] ?? 0) > 0 && (latency["p50"] ?? 0) <= (latency["p99"] ?? 0))
        #expect((latency["p99"] ?? 0) <= (latency["max"] ?? 0))
        // The DELETEs reached the host: no session is left.
        let health = try healthJSON(port: http.port)
        #expect(health["active_clients"] as? Int == 0)
    }

    @Test func unknownToolCountsEveryCallAsError() throws {
        let http = try Self.echoHost()
        let run = try LoadRun(["--url", "\(http.base)/mcp", "--calls", "90", "--sessions", "3", "--tool", "nosuch__tool"])
        let result = try run.finish()
        #expect(run.status == 0, "errors are counted, the run completes: \(run.stderr)")
        #expect(result.int("calls") == 90)
        #expect(result.int("errors") == 90)
        #expect(result.kinds["jsonrpc"] == 90, "\(result.kinds)")
        #expect(result.json["ok_per_second"] as? Double == 0)
    }

    @Test func sseAnswersAreParsedAndCounted() throws {
        let http = try Self.echoHost()
        let run = try LoadRun(["--url", "\(http.base)/mcp", "--calls", "300", "--sessions", "3", "--sse", "--per-session-list"])
        let result = try run.finish()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(result.int("calls") == 300)
        #expect(result.int("errors") == 0, "\(result.kinds)")
        #expect(result.int("sse_answers") == 300, "every answer came as an event stream")
        #expect((result.json["per_session_calls"] as? [Int])?.reduce(0, +) == 300)
        // Errors in SSE answers are found too.
        let failing = try LoadRun(["--url", "\(http.base)/mcp", "--calls", "30", "--sessions", "3", "--sse", "--tool", "nosuch__tool"])
        let failed = try failing.finish()
        #expect(failed.int("errors") == 30)
        #expect(failed.kinds["jsonrpc"] == 30, "\(failed.kinds)")
        #expect(failed.int("sse_answers") == 30)
    }

    @Test func getStreamsStayOpenDuringTheRun() throws {
        let http = try Self.echoHost()
        let sessions = 20
        let run = try LoadRun(["--url", "\(http.base)/mcp", "--duration", "3", "--warmup", "0", "--sessions", "\(sessions)",
                               "--get-streams"])
        // While it runs: the host has the sessions, and the generator holds two connections per
        // session (a call connection and a GET stream).
        var sawSessions = false, sawSockets = false
        let deadline = Date().addingTimeInterval(20)
        while run.process.isRunning && Date() < deadline && !(sawSessions && sawSockets) {
            if let health = try? healthJSON(port: http.port), health["active_clients"] as? Int == sessions { sawSessions = true }
            if socketCount(pid: run.process.processIdentifier) >= 2 * sessions { sawSockets = true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let result = try run.finish()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(sawSessions, "/health showed \(sessions) sessions while the generator ran")
        #expect(sawSockets, "the generator held a call connection and a GET stream per session")
        #expect(result.int("get_streams") == sessions, "every GET stream was open at the end")
        #expect(result.int("get_streams_dropped") == 0)
        #expect(result.int("errors") == 0, "\(result.kinds)")
        #expect(result.int("calls") > 0)
        #expect(result.int("deleted") == sessions)
    }

    /// Servers that break the exchange: every call is counted as an error of the right kind, and
    /// the run ends (a per-call timeout; a broken connection is reopened).
    @Test(arguments: [MisbehavingServer.Mode.close, .hang, .garbage, .hugeHead])
    func misbehavingServerErrorsAreCounted(mode: MisbehavingServer.Mode) throws {
        let server = try MisbehavingServer(mode: mode)
        defer { server.stop() }
        let run = try LoadRun(["--url", "http://127.0.0.1:\(server.port)/mcp", "--plain", "--calls", "12", "--sessions", "2",
                               "--timeout", "0.5"])
        let result = try run.finish()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(result.int("calls") == 12)
        #expect(result.int("errors") == 12)
        let expected: String
        switch mode {
        case .close: expected = "closed"
        case .hang: expected = "timeout"
        default: expected = "protocol"
        }
        #expect(result.kinds[expected] == 12, "\(mode): \(result.kinds)")
    }

    /// In a session an answer with another id is not the answer (a protocol error); with --plain
    /// ids are not checked (a framework floor may answer a fixed body), so the same answers count.
    @Test func answerWithWrongID() throws {
        let server = try MisbehavingServer(mode: .wrongID)
        defer { server.stop() }
        let run = try LoadRun(["--url", "http://127.0.0.1:\(server.port)/mcp", "--calls", "8", "--sessions", "2", "--timeout", "2"])
        let result = try run.finish()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(result.int("calls") == 8)
        #expect(result.kinds["protocol"] == 8, "\(result.kinds)")
        #expect(result.int("deleted") == 2)
        let plain = try LoadRun(["--url", "http://127.0.0.1:\(server.port)/mcp", "--calls", "8", "--sessions", "2", "--plain"])
        let plainResult = try plain.finish()
        #expect(plainResult.int("calls") == 8)
        #expect(plainResult.int("errors") == 0, "\(plainResult.kinds)")
    }

    @Test func sessionsThatCannotOpenExitOne() throws {
        let port = try unusedPort()
        let run = try LoadRun(["--url", "http://127.0.0.1:\(port)/mcp", "--calls", "10", "--sessions", "2"])
        _ = try? run.finish()
        #expect(run.status == 1)
        #expect(run.stderr.contains("could not open the sessions"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test(arguments: [[String](), ["--url", "ftp://x/mcp"], ["--url", "http://127.0.0.1:1/mcp", "--sessions", "0"],
                      ["--url", "http://127.0.0.1:1/mcp", "--arguments", "[1]"], ["--url", "http://127.0.0.1:1/mcp", "--bogus", "1"]])
    func usageErrorsExitTwo(arguments: [String]) throws {
        let run = try LoadRun(arguments)
        _ = try? run.finish()
        #expect(run.status == 2, "\(arguments): \(run.stderr)")
    }
}

// MARK: - Helpers

/// One run of mcp-bench-load as a child; `finish()` waits (bounded) and parses its JSON line.
final class LoadRun: @unchecked Sendable { // only the test's thread touches it
    let process = Process()
    private let out = Pipe(), err = Pipe()
    private(set) var status: Int32 = -1
    private(set) var stdout = "", stderr = ""

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: BenchLoadTests.loader)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    struct Result {
        let json: [String: Any]
        func int(_ key: String) -> Int { (json[key] as? Int) ?? -1 }
        var kinds: [String: Int] { (json["error_kinds"] as? [String: Int]) ?? [:] }
    }

    /// Waits up to `timeout` seconds (then kills it and fails), reads its output.
    func finish(timeout: Double = 60) throws -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestFailure("mcp-bench-load did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        status = process.terminationStatus
        // Its output is one line and a few lines of stderr: both fit in the pipes' buffers.
        stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard let object = try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestFailure("no JSON on stdout (status \(status)): \(stdout)\nstderr: \(stderr)")
        }
        #expect(stdout.split(separator: "\n").count == 1, "exactly one line on stdout")
        return Result(json: object)
    }

    /// Its stderr, once it has exited.
    func readStderr() -> String { String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// GET /health of the host on `port` (a plain blocking request).
private func healthJSON(port: Int) throws -> [String: Any] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    guard connectLoopback(fd, port: port) == 0 else { throw TestFailure("connect: \(errno)") }
    let request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    var data = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while data.count < 1 << 20 {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        data += buffer[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let start = text.range(of: "\r\n\r\n"),
          let json = try? JSONSerialization.jsonObject(with: Data(text[start.upperBound...].utf8)) as? [String: Any] else {
        throw TestFailure("no /health document: \(text.prefix(500))")
    }
    return json
}

/// Open sockets of process `pid` (its /proc fd links).
private func socketCount(pid: Int32) -> Int {
    let dir = "/proc/\(pid)/fd"
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return 0 }
    return entries.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/\($0)")) ?? "").hasPrefix("socket:") }.count
}

/// A loopback HTTP server that breaks every exchange in one way, on its own threads (blocking
/// sockets, never the concurrency pool). Each connection's thread ends when the client closes.
final class MisbehavingServer: Sendable {
    enum Mode: String, Sendable, CustomStringConvertible {
        case close     // reads the request, closes the connection
        case hang      // reads requests, never answers
        case garbage   // answers 200 with a body that is not JSON
        case hugeHead  // answers with a head over 64 KiB
        case wrongID   // answers a JSON-RPC result with id 999999 (and an initialize with a session)
        var description: String { rawValue }
    }

    let port: Int
    private let listener: Int32

    init(mode: Mode) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 64) == 0 else { close(fd); throw TestFailure("cannot listen: \(errno)") }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return // the listener was shut down
                }
                Thread.detachNewThread { Self.serve(client, mode: mode) }
            }
        }
    }

    private static func serve(_ fd: Int32, mode: Mode) {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var pending = [UInt8]()
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            pending += buffer[0..<n]
            // One request at a time: answer when its head and body (Content-Length) are in.
            while let request = takeRequest(&pending) {
                let answer: String
                switch mode {
                case .close: return
                case .hang: continue
                case .garbage: answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{{{{{"
                case .hugeHead: answer = "HTTP/1.1 200 OK\r\nX-Filler: " + String(repeating: "a", count: 70_000) + "\r\nContent-Length: 2\r\n\r\n{}"
                case .wrongID:
                    let body = #"{"jsonrpc":"2.0","id":999999,"result":{}}"#
                    if request.contains("notifications/initialized") {
                        answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
                    } else if request.contains("\"initialize\"") {
                        let initBody = #"{"jsonrpc":"2.0","id":0,"result":{}}"#
                        answer = "HTTP/1.1 200 OK\r\nMcp-Session-Id: s1\r\nContent-Type: application/json\r\nContent-Length: \(initBody.utf8.count)\r\n\r\n\(initBody)"
                    } else if request.hasPrefix("DELETE") {
                        answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                    } else {
                        answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    }
                }
                let bytes = Array(answer.utf8)
                var sent = 0
                while sent < bytes.count {
                    let k = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if k <= 0 { return }
                    sent += k
                }
            }
        }
    }

    /// Removes one complete request (head and Content-Length body) from `pending` and returns it.
    private static func takeRequest(_ pending: inout [UInt8]) -> String? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard pending.count >= 4, let end = (0...(pending.count - 4)).first(where: { Array(pending[$0..<$0 + 4]) == separator }) else {
            return nil
        }
        let head = String(decoding: pending[0..<end], as: UTF8.self)
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let total = end + 4 + length
        guard pending.count >= total else { return nil }
        let request = String(decoding: pending[0..<total], as: UTF8.self)
        pending.removeFirst(total)
        return request
    }

    /// Stops accepting; connection threads end as their clients close.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
