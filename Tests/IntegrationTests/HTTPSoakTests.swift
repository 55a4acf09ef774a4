import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Soak, HTTP (issue 7): the real binary serving HTTP on 127.0.0.1 with two stdio backends; 64
/// sessions call tools on keep-alive connections for `MCP_HOST_SOAK_SECONDS` (default 20 s) while
/// other sessions open and DELETE (some with a call in flight), a backend is killed (`kill -9`)
/// and restarted by the next call, some calls are cancelled and some time out.
///
/// After it: the host is alive; every request got exactly one answer (a JSON-RPC response with its
/// id, or for a cancelled request its POST ended, with at most one response anywhere: the POST or
/// the session's GET stream); and the in-flight gauges of `/metrics` drain to zero, with the
/// sessions gauge back to the sessions still open.
///
/// Clients use blocking sockets on their own threads (never on the concurrency pool).
@Suite(.serialized)
struct HTTPSoakTests {
    static let workers = 64
    static let streamReaders = 16 // of the workers, how many also hold a GET stream
    static let churners = 4
    /// Sessions that only send notifications: each one touches its session without a request
    /// outstanding, which is what made the session sweep's `now - idleSince` trap (issue 7).
    static let notifiers = 8
    /// Idle sessions, as a shared host has many: the session sweep walks them all, so a request
    /// has time to touch a session between the sweep's clock reading and its check.
    static let idle = 800

    static var seconds: Double {
        ProcessInfo.processInfo.environment["MCP_HOST_SOAK_SECONDS"].flatMap(Double.init) ?? 20
    }

    @Test func soak() async throws {
        let dir = try Paths.temporaryDirectory()
        let config = try writeConfig(["a": fakeServer(name: "a"), "b": fakeServer(name: "b")], in: dir)
        let http = try HTTPHost(config: config, extra: ["--request-timeout", "2", "--max-sessions", "2000"], logLevel: "info")
        let port = http.port
        let ledger = Ledger()
        let stop = Flag()

        // The 64 sessions, each with a GET stream for some.
        var sessions: [SoakSession] = []
        for index in 0..<Self.workers {
            let session = try SoakSession(port: port, name: "w\(index)", ledger: ledger)
            if index < Self.streamReaders { try session.openStream() }
            sessions.append(session)
        }

        let idleIDs = try openIdleSessions(port: port, count: Self.idle)

        let started = Date()
        var threads: [Thread] = []
        let done = DispatchGroup()
        func spawn(_ body: @escaping @Sendable () -> Void) {
            done.enter()
            let thread = Thread { body(); done.leave() }
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
        for (index, session) in sessions.enumerated() {
            spawn { session.work(index: index, until: stop) }
        }
        for index in 0..<Self.churners {
            spawn { Churner(port: port, index: index, ledger: ledger).run(until: stop) }
        }
        for index in 0..<Self.notifiers {
            let session = try SoakSession(port: port, name: "n\(index)", ledger: ledger)
            sessions.append(session)
            spawn { session.notify(until: stop) }
        }

        // Kill backend `a` (kill -9 of its process, found by asking it) a third into the run.
        let control = try SoakSession(port: port, name: "control", ledger: ledger)
        try await Task.sleep(for: .seconds(Self.seconds / 3))
        func diagnosed(_ error: any Error) -> TestFailure {
            let stderr = http.host.stderr
            let crash = (stderr.range(of: "*** Swift runtime failure") ?? stderr.range(of: "Program crashed")).map { String(stderr[$0.lowerBound...].prefix(4000)) }
            return TestFailure("\(error); host running: \(http.host.process.isRunning); \(crash.map { "it crashed:\n\($0)" } ?? "its stderr ends:\n\(stderr.suffix(3000))")")
        }
        let killed: Int
        do { killed = try control.pid(of: "a") } catch { throw diagnosed(error) }
        let cmdline = (try? String(contentsOfFile: "/proc/\(killed)/cmdline", encoding: .utf8)) ?? ""
        #expect(cmdline.contains("fake_backend.py"), "pid \(killed) is the backend: \(cmdline)")
        #expect(kill(pid_t(killed), SIGKILL) == 0)

        try await Task.sleep(for: .seconds(max(0, Self.seconds - Date().timeIntervalSince(started))))
        stop.set()
        let finished = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: done.wait(timeout: .now() + 30)) }
        }
        #expect(finished == .success, "every client thread ended (no request hung)")

        #expect(http.host.process.isRunning, "the host survived; stderr:\n\(http.host.stderr.suffix(3000))")
        let restarted: Int
        do { restarted = try control.pid(of: "a") } catch { throw diagnosed(error) }
        #expect(restarted != killed, "the killed backend was restarted by a later call")

        let report = ledger.report()
        #expect(report.problems.isEmpty, "\(report.problems.prefix(20).joined(separator: "\n"))")
        #expect(report.ok > 1000, "enough load: \(report)")
        #expect(report.timedOut > 0, "some calls timed out: \(report)")
        #expect(report.cancelled > 0, "some calls were cancelled: \(report)")
        #expect(report.churned > 10, "sessions opened and ended: \(report)")
        print("HTTP soak: \(report)")

        // Drain: nothing in flight, sessions back to those still open (the 64 workers).
        control.delete()
        try await expectDrained(port: port, sessions: Self.workers + Self.notifiers + Self.idle)
        for session in sessions { session.delete() }
        let deleter = try RawHTTPConnection(port: port)
        for id in idleIDs { _ = try deleter.request("DELETE", "/mcp", headers: [("Mcp-Session-Id", id)]) }
        try await expectDrained(port: port, sessions: 0)
        for session in sessions { session.closeStream() }

        http.host.process.terminate()
        #expect(try http.host.waitForExit() == 0)
    }

    func openIdleSessions(port: Int, count: Int) throws -> [String] {
        let connection = try RawHTTPConnection(port: port)
        return try (0..<count).map { _ in
            let reply = try connection.request("POST", "/mcp", headers: [("Content-Type", "application/json"), ("Accept", SoakSession.accept)],
                                               body: #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"idle","version":"1"}}}"#)
            guard let id = reply.header("mcp-session-id") else { throw TestFailure("idle session: \(reply.status)") }
            return id
        }
    }

    /// Waits (up to 5 s) for the in-flight gauges to be zero and the sessions to be `sessions`.
    func expectDrained(port: Int, sessions: Int) async throws {
        var last: Gauges?
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let connection = try RawHTTPConnection(port: port)
            let reply = try connection.request("GET", "/metrics")
            let gauges = Gauges(String(decoding: reply.body, as: UTF8.self))
            last = gauges
            if gauges.drained(sessions: sessions) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("in-flight state did not drain (expected \(sessions) sessions): \(String(describing: last))")
    }
}

/// The gauges the soak reads from `/metrics`.
struct Gauges: CustomStringConvertible {
    var inFlight: [String: Double] = [:]
    var subscriptions: [String: Double] = [:]
    var awaitingClient: Double?
    var routing: Double?
    var sessions: Double = 0
    var sawSessions = false

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[parts.count - 1]) else { continue }
            let series = String(parts[0])
            func label() -> String {
                guard let start = series.range(of: #"backend=""#)?.upperBound, let end = series[start...].firstIndex(of: "\"") else { return "" }
                return String(series[start..<end])
            }
            if series.hasPrefix("mcp_host_backend_requests_in_flight{") { inFlight[label()] = value }
            else if series.hasPrefix("mcp_host_subscriptions{") { subscriptions[label()] = value }
            else if series.hasPrefix("mcp_host_backend_requests_awaiting_client") { awaitingClient = value }
            else if series.hasPrefix("mcp_host_requests_routing") { routing = value }
            else if series.hasPrefix("mcp_host_sessions{") { sessions += value; sawSessions = true }
        }
    }

    func drained(sessions expected: Int) -> Bool {
        inFlight.count == 2 && inFlight.values.allSatisfy { $0 == 0 }
            && subscriptions.count == 2 && subscriptions.values.allSatisfy { $0 == 0 }
            && awaitingClient == 0 && routing == 0 && sawSessions && sessions == Double(expected)
    }

    var description: String {
        "in flight \(inFlight), subscriptions \(subscriptions), awaiting client \(String(describing: awaitingClient)), routing \(String(describing: routing)), sessions \(sessions)"
    }
}

// MARK: - Bookkeeping

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Every request of the soak and every answer seen for it.
final class Ledger: @unchecked Sendable {
    struct Report: CustomStringConvertible {
        var ok = 0, errors = 0, timedOut = 0, cancelled = 0, cancelledAnswered = 0, churned = 0, notifications = 0
        var problems: [String] = []
        var description: String {
            "\(ok) ok, \(errors) JSON-RPC errors, \(timedOut) timed out, \(cancelled) cancelled (\(cancelledAnswered) answered anyway), \(churned) sessions churned, \(notifications) notifications, \(problems.count) problems"
        }
    }

    private struct Entry {
        var cancelled = false
        var postEnded = false
        var answers = 0
    }

    private let lock = NSLock()
    private var entries: [String: [Int: Entry]] = [:]
    private var counts = Report()

    func sent(_ session: String, _ id: Int, cancelled: Bool = false) {
        lock.withLock { entries[session, default: [:]][id] = Entry(cancelled: cancelled) }
    }

    /// A response with `id` seen (on the POST or on the session's GET stream).
    func answered(_ session: String, _ id: Int) {
        lock.withLock { entries[session, default: [:]][id, default: Entry()].answers += 1 }
    }

    func postEnded(_ session: String, _ id: Int) {
        lock.withLock { entries[session, default: [:]][id, default: Entry()].postEnded = true }
    }

    func count(_ update: (inout Report) -> Void) { lock.withLock { update(&counts) } }
    func problem(_ text: String) { lock.withLock { counts.problems.append(text) } }

    func report() -> Report {
        lock.withLock {
            var report = counts
            for (session, requests) in entries {
                for (id, entry) in requests {
                    if !entry.postEnded { report.problems.append("\(session) id \(id): its POST never ended") }
                    if entry.answers > 1 { report.problems.append("\(session) id \(id): \(entry.answers) responses") }
                    if !entry.cancelled && entry.answers != 1 { report.problems.append("\(session) id \(id): \(entry.answers) responses") }
                    if entry.cancelled && entry.answers == 1 { report.cancelledAnswered += 1 }
                }
            }
            return report
        }
    }
}

// MARK: - Clients

/// One Streamable HTTP session of the soak: a connection for calls, one for notifications
/// (cancels), and optionally a GET stream read on its own thread.
final class SoakSession: @unchecked Sendable {
    static let accept = "application/json, text/event-stream"
    let port: Int
    let name: String
    let ledger: Ledger
    let id: String
    private let calls: RawHTTPConnection
    private let notes: RawHTTPConnection
    private var stream: RawHTTPConnection?
    private var nextID = 1

    init(port: Int, name: String, ledger: Ledger) throws {
        self.port = port
        self.name = name
        self.ledger = ledger
        calls = try RawHTTPConnection(port: port)
        notes = try RawHTTPConnection(port: port)
        let reply = try calls.request("POST", "/mcp", headers: [("Content-Type", "application/json"), ("Accept", Self.accept)],
                                      body: #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}"#)
        guard reply.status == 200, let id = reply.header("mcp-session-id") else {
            throw TestFailure("\(name): initialize failed: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        }
        self.id = id
        _ = try notes.request("POST", "/mcp", headers: headers, body: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
    }

    var headers: [(String, String)] {
        [("Content-Type", "application/json"), ("Accept", Self.accept), ("Mcp-Session-Id", id), ("MCP-Protocol-Version", "2025-06-18")]
    }

    /// Opens the session's GET stream and records every response seen on it.
    func openStream() throws {
        let connection = try RawHTTPConnection(port: port)
        stream = connection
        let head = try connection.startStream("/mcp", headers: [("Accept", "text/event-stream"), ("Mcp-Session-Id", id)])
        guard head == 200 else { throw TestFailure("\(name): GET stream refused: \(head)") }
        let (ledger, name) = (ledger, name)
        Thread.detachNewThread {
            connection.readEvents { data in
                guard let json = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any],
                      json["result"] != nil || json["error"] != nil else { return }
                if let id = json["id"] as? Int { ledger.answered(name, id) }
                else { ledger.problem("\(name): a response without a numeric id on the GET stream: \(String(decoding: data, as: UTF8.self))") }
            }
        }
    }

    func closeStream() { stream?.shutdown() }

    func delete() {
        _ = try? notes.request("DELETE", "/mcp", headers: [("Mcp-Session-Id", id)])
    }

    func pid(of backend: String) throws -> Int {
        let id = take()
        let reply = try calls.request("POST", "/mcp", headers: headers, body: call(id, "\(backend)__pid", [:]))
        let json = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
        guard let text = ((json?["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String, let pid = Int(text) else {
            throw TestFailure("\(name): \(backend)__pid failed: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        }
        return pid
    }

    private func take() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    private func call(_ id: Int, _ tool: String, _ arguments: [String: Any]) -> String {
        let params: [String: Any] = ["name": tool, "arguments": arguments]
        let message: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params]
        return String(decoding: try! JSONSerialization.data(withJSONObject: message), as: UTF8.self)
    }

    /// Calls until `stop`: mostly echoes (alternating backends), every 20th a slow call that is
    /// cancelled, every 50th a call that outlives the 2 s request timeout.
    func work(index: Int, until stop: Flag) {
        var i = index
        while !stop.isSet {
            i += 1
            let id = take()
            let backend = i % 2 == 0 ? "a" : "b"
            do {
                if i % 50 == 7 {
                    try exchange(id, call(id, "\(backend)__slow", ["ms": 3000])) { json in
                        if json["error"] != nil { self.ledger.count { $0.timedOut += 1 } }
                        else { self.ledger.problem("\(self.name) id \(id): a 3 s call was not timed out at 2 s") }
                    }
                } else if i % 20 == 3 {
                    ledger.sent(name, id, cancelled: true)
                    try calls.send("POST", "/mcp", headers: headers, body: call(id, "\(backend)__slow", ["ms": 300]))
                    usleep(UInt32(20_000 + (i % 7) * 5_000))
                    let cancel = #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":\#(id),"reason":"soak"}}"#
                    let accepted = try notes.request("POST", "/mcp", headers: headers, body: cancel)
                    if accepted.status != 202 { ledger.problem("\(name): cancel got \(accepted.status)") }
                    let reply = try calls.readResponse()
                    ledger.postEnded(name, id)
                    ledger.count { $0.cancelled += 1 }
                    switch reply.status {
                    case 204: break
                    case 200: record(id, reply) { _ in }
                    default: ledger.problem("\(name) id \(id): a cancelled call's POST got \(reply.status)")
                    }
                } else {
                    let text = "\(name)-\(id)"
                    try exchange(id, call(id, "\(backend)__echo", ["text": text])) { json in
                        if let content = ((json["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String {
                            if content == text { self.ledger.count { $0.ok += 1 } }
                            else { self.ledger.problem("\(self.name) id \(id): answer \(content) is not for \(text)") }
                        } else {
                            self.ledger.count { $0.errors += 1 } // e.g. the killed backend's calls in flight
                        }
                    }
                }
            } catch {
                ledger.problem("\(name) id \(id): \(error)")
                return
            }
        }
    }

    /// Sends notifications back to back until `stop` (each answered 202).
    func notify(until stop: Flag) {
        let note = #"{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}"#
        while !stop.isSet {
            do {
                let reply = try notes.request("POST", "/mcp", headers: headers, body: note)
                if reply.status != 202 { ledger.problem("\(name): a notification got \(reply.status)") }
                ledger.count { $0.notifications += 1 }
            } catch {
                ledger.problem("\(name): notification: \(error)")
                return
            }
        }
    }

    /// One call on the calls connection; `check` sees its JSON-RPC response.
    private func exchange(_ id: Int, _ body: String, check: ([String: Any]) -> Void) throws {
        ledger.sent(name, id)
        let reply = try calls.request("POST", "/mcp", headers: headers, body: body)
        ledger.postEnded(name, id)
        guard reply.status == 200 else {
            ledger.problem("\(name) id \(id): status \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
            return
        }
        record(id, reply, check: check)
    }

    private func record(_ id: Int, _ reply: RawHTTPConnection.Reply, check: ([String: Any]) -> Void) {
        guard let json = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] else {
            ledger.problem("\(name) id \(id): not JSON: \(String(decoding: reply.body, as: UTF8.self))")
            return
        }
        guard json["id"] as? Int == id else {
            ledger.problem("\(name) id \(id): the POST was answered with id \(String(describing: json["id"]))")
            return
        }
        ledger.answered(name, id)
        check(json)
    }
}

/// Opens sessions, calls, and ends them with DELETE, sometimes with a call still in flight.
struct Churner {
    let port: Int
    let index: Int
    let ledger: Ledger

    func run(until stop: Flag) {
        var round = 0
        while !stop.isSet {
            round += 1
            do {
                let session = try SoakSession(port: port, name: "c\(index)-\(round)", ledger: ledger)
                let calls = try RawHTTPConnection(port: port)
                let echo = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b__echo","arguments":{"text":"x"}}}"#
                ledger.sent(session.name, 1)
                let reply = try calls.request("POST", "/mcp", headers: session.headers, body: echo)
                ledger.postEnded(session.name, 1)
                if reply.status == 200 { ledger.answered(session.name, 1) } else { ledger.problem("\(session.name): echo got \(reply.status)") }
                if round % 2 == 0 {
                    // DELETE with a call in flight: its POST ends (204, or its answer if that came first).
                    ledger.sent(session.name, 2, cancelled: true)
                    try calls.send("POST", "/mcp", headers: session.headers,
                                   body: #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b__slow","arguments":{"ms":400}}}"#)
                    usleep(30_000)
                    session.delete()
                    let last = try calls.readResponse()
                    ledger.postEnded(session.name, 2)
                    switch last.status {
                    case 200: ledger.answered(session.name, 2)
                    case 204, 404: break
                    default: ledger.problem("\(session.name): a call in flight at DELETE got \(last.status)")
                    }
                } else {
                    session.delete()
                }
                ledger.count { $0.churned += 1 }
            } catch {
                ledger.problem("churner \(index) round \(round): \(error)")
                return
            }
        }
    }
}

/// A blocking HTTP/1.1 keep-alive connection on a raw socket (no URLSession: its connection
/// pool and timeouts are not under the test's control).
final class RawHTTPConnection: @unchecked Sendable {
    struct Reply {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    let fd: Int32
    private var buffer: [UInt8] = []
    /// How long a read may wait for the peer before the request counts as unanswered.
    let timeout: Double

    init(port: Int, timeout: Double = 15) throws {
        self.timeout = timeout
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        guard connectLoopback(fd, port: port) == 0 else {
            close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port): errno \(errno)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var tick = timeval(tv_sec: 0, tv_usec: 200_000) // reads wake up to check their deadline
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: String = "") throws -> Reply {
        try send(method, path, headers: headers, body: body)
        return try readResponse()
    }

    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: String = "") throws {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n" + body
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw TestFailure("write failed: errno \(errno)") }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Reads one whole response (Content-Length or chunked body).
    func readResponse() throws -> Reply {
        let deadline = Date().addingTimeInterval(timeout)
        let (status, headers) = try readHead(deadline: deadline)
        let get = { (name: String) in headers.first { $0.0.lowercased() == name }?.1 }
        var body: [UInt8] = []
        if let length = get("content-length").flatMap(Int.init) {
            body = try take(length, deadline: deadline)
        } else if get("transfer-encoding")?.lowercased() == "chunked" {
            while let chunk = try readChunk(deadline: deadline) { body += chunk }
        }
        return Reply(status: status, headers: headers, body: body)
    }

    /// Sends a GET and reads the head of its (streaming) response; returns the status.
    func startStream(_ path: String, headers: [(String, String)]) throws -> Int {
        try send("GET", path, headers: headers)
        return try readHead(deadline: Date().addingTimeInterval(timeout)).status
    }

    /// Reads a chunked SSE body until the connection ends, calling `onData` with each event's data.
    func readEvents(_ onData: ([UInt8]) -> Void) {
        var text: [UInt8] = []
        while let chunk = try? readChunk(deadline: .distantFuture) {
            text += chunk
            while let end = text.firstRange(of: [0x0A, 0x0A]) {
                let event = text[..<end.lowerBound]
                text.removeSubrange(..<end.upperBound)
                for line in event.split(separator: 0x0A) where line.starts(with: Array("data: ".utf8)) {
                    onData(Array(line.dropFirst(6)))
                }
            }
        }
    }

    private func readHead(deadline: Date) throws -> (status: Int, headers: [(String, String)]) {
        while true {
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<end.upperBound)
                let lines = head.components(separatedBy: "\r\n")
                let statusParts = lines[0].split(separator: " ")
                guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestFailure("bad status line: \(lines[0])") }
                let headers = lines.dropFirst().compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                return (status, headers)
            }
            try fill(deadline: deadline)
        }
    }

    /// One chunk of a chunked body; nil at the last chunk.
    private func readChunk(deadline: Date) throws -> [UInt8]? {
        while buffer.firstRange(of: [0x0D, 0x0A]) == nil { try fill(deadline: deadline) }
        let end = buffer.firstRange(of: [0x0D, 0x0A])!
        let sizeText = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
        buffer.removeSubrange(..<end.upperBound)
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw TestFailure("bad chunk size \(sizeText)") }
        let data = try take(size, deadline: deadline)
        _ = try take(2, deadline: deadline) // CRLF after the chunk
        return size == 0 ? nil : data
    }

    private func take(_ count: Int, deadline: Date) throws -> [UInt8] {
        while buffer.count < count { try fill(deadline: deadline) }
        defer { buffer.removeSubrange(..<count) }
        return Array(buffer[..<count])
    }

    private func fill(deadline: Date) throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 {
                buffer += chunk[..<n]
                return
            }
            if n == 0 { throw TestFailure("the connection closed") }
            if errno == EINTR { continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw TestFailure("read failed: errno \(errno)") }
            if Date() > deadline { throw TestFailure("no answer within \(timeout) s") }
        }
    }
}
