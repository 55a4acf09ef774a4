import Foundation
import Testing

/// Soak through the stdio front-end (issue 7): several clients, each its own `mcp-host` process
/// (sharing nothing), each keeping many `tools/call`s in flight for a fixed time, with some
/// cancelled, some timing out and the backend killed with SIGKILL now and then (restarted by the
/// next call). Afterwards: every request got exactly one answer (a cancelled one at most one: the
/// cancel may cross the answer, as the MCP spec allows), each answer is the one for its own request,
/// and each host exits with status 0 at end of input, leaving no backend process behind.
///
/// `MCP_HOST_SOAK_SECONDS` sets how long the calls run (default 12 s, at least 3; the whole test
/// takes a few seconds more). scripts/tsan runs it shortened under ThreadSanitizer.
@Suite(.serialized)
struct StdioSoakTests {
    static let clients = 3
    static let window = 32
    static var seconds: Double {
        ProcessInfo.processInfo.environment["MCP_HOST_SOAK_SECONDS"].flatMap(Double.init).map { min(max($0, 3), 600) } ?? 12
    }

    @Test func everyRequestGetsExactlyOneAnswerAndEveryHostExitsCleanly() throws {
        let duration = Self.seconds
        let results = SoakBox([SoakReport]())
        let group = DispatchGroup()
        for index in 0..<Self.clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let report: SoakReport
                do { report = try SoakClient(index: index).run(for: duration) }
                catch { report = SoakReport(client: index, problems: ["client \(index) could not run: \(error)"]) }
                results.withLock { $0.append(report) }
            }
        }
        // Each client bounds its own phases; this is the backstop.
        #expect(group.wait(timeout: .now() + duration + 90) == .success, "a soak client did not finish")
        let reports = results.withLock { $0 }.sorted { $0.client < $1.client }
        #expect(reports.count == Self.clients)
        for report in reports {
            for problem in report.problems.prefix(20) { Issue.record("client \(report.client): \(problem)") }
            if report.problems.count > 20 { Issue.record("client \(report.client): \(report.problems.count - 20) more problems") }
            // Enough work for a soak, and the failures stay the exception (a backend kill fails only
            // what it had in flight; restarts follow on the next call).
            #expect(report.sent >= 200, "client \(report.client) sent only \(report.sent) requests")
            #expect(report.echoOK * 2 >= report.echoSent, "client \(report.client): only \(report.echoOK) of \(report.echoSent) echo calls succeeded")
            #expect(report.kills >= 1, "client \(report.client) never killed its backend")
            #expect(report.okAfterLastKill >= 1, "client \(report.client): no call succeeded after the last kill (no restart)")
            #expect(report.timeouts >= 1, "client \(report.client): no call timed out")
            #expect(report.cancels >= 1, "client \(report.client): no call was cancelled")
            print("soak client \(report.client): \(report.summary)")
        }
    }
}

/// A pthread-based lock around a value (the test target links no package module, so not `Locked`
/// from Sources/Locking, whose name this avoids; NSLock is pthread-based too, so ThreadSanitizer understands it).
final class SoakBox<Value>: @unchecked Sendable { // safe: every access to `value` holds `lock`
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

struct SoakReport {
    var client: Int
    var problems: [String] = []
    var sent = 0, echoSent = 0, echoOK = 0, timeouts = 0, cancels = 0, cancelledAnswered = 0
    var kills = 0, okAfterLastKill = 0, backendErrors = 0
    var summary: String {
        "\(sent) requests, \(echoOK)/\(echoSent) echo ok, \(timeouts) timed out, \(cancels) cancelled (\(cancelledAnswered) answered anyway), \(kills) kills, \(backendErrors) backend errors, \(okAfterLastKill) ok after the last kill"
    }
}

/// One client: its own host, its own backend (found by a marker in its command line).
final class SoakClient: @unchecked Sendable { // safe: mutable state lives in `state` (locked)
    enum Kind { case echo, slow, timeout, cancel, pid }

    struct Sent {
        var kind: Kind
        var tag: String
        var cancelled = false
        var answers: [[String: Any]] = []
        var answeredAfterKill = 0
    }

    struct State {
        var sent: [String: Sent] = [:]   // key: "i:N" for integer ids, "s:X" for string ids
        var inFlight = Set<String>()
        var unknown: [String] = []
        var kills = 0
        var killing = false
    }

    let index: Int
    let marker: String
    let state = SoakBox(State())
    let slots = DispatchSemaphore(value: StdioSoakTests.window)
    let process = Process()
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    let stderrText = SoakBox("")

    init(index: Int) {
        self.index = index
        self.marker = "soak-marker-\(UUID().uuidString.prefix(8))-\(index)"
    }

    static func key(_ id: Any?) -> String? {
        switch id {
        case let s as String: return "s:" + s
        case let n as NSNumber: return "i:\(n)" // a non-integer id would not match any "i:N" sent
        default: return nil
        }
    }

    func run(for duration: Double) throws -> SoakReport {
        let dir = try Paths.temporaryDirectory()
        let server: [String: Any] = ["command": "python3", "args": ["-u", Paths.fakeBackend, marker],
                                     "env": ["FAKE_BACKEND_NAME": "soak"]]
        let config = try writeConfig(["s": server], in: dir)
        process.executableURL = URL(fileURLWithPath: Paths.host)
        process.arguments = ["--plugins", Paths.pluginsDir, "--config", config, "--request-timeout", "1", "--log-level", "warning"]
        var env = ProcessInfo.processInfo.environment
        env["MCP_HOST_STATE_DIR"] = dir + "/state" // its own catalog cache, never ~/.local/state
        process.environment = env
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let reader = Thread { [self] in readAnswers() }
        reader.start()
        Thread.detachNewThread { [self] in
            let handle = stderr.fileHandleForReading
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                stderrText.withLock { $0 = String(($0 + String(decoding: chunk, as: UTF8.self)).suffix(8000)) }
            }
        }
        defer { if process.isRunning { process.interrupt(); process.terminate() } }

        write(#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}"#)
        try waitUntil(10, "the answer to initialize") { state.withLock { $0.unknown.contains("s:init") } }
        state.withLock { $0.unknown.removeAll { $0 == "s:init" } }
        write(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)

        // Pipelined calls for `duration`, at most `window` in flight.
        var report = SoakReport(client: index)
        let start = Date()
        var n = 0
        var nextKill = start.addingTimeInterval(1.5)
        while Date().timeIntervalSince(start) < duration {
            guard slots.wait(timeout: .now() + 10) == .success else {
                report.problems.append("no slot freed in 10 s: answers stopped (in flight: \(state.withLock { $0.inFlight.count }))")
                break
            }
            n += 1
            let kind: Kind
            // A kill every 3 s, none in the last 1.5 s (calls after the last kill must show the restart).
            if Date() >= nextKill && Date().timeIntervalSince(start) < duration - 1.5 {
                kind = .pid
                nextKill = Date().addingTimeInterval(3)
            }
            else {
                switch n % 20 {
                case 0: kind = .timeout
                case 5, 15: kind = .cancel
                case 10: kind = .slow
                default: kind = .echo
                }
            }
            // Integer and string ids alternate; "7" and 7 are different requests.
            let idJSON = n % 2 == 0 ? "\(n)" : "\"\(n)\""
            let key = n % 2 == 0 ? "i:\(n)" : "s:\(n)"
            let tag = "\(marker)-\(n)"
            let call: String
            switch kind {
            case .echo: call = #"{"name":"s__echo","arguments":{"text":"\#(tag)"}}"#
            case .slow: call = #"{"name":"s__slow","arguments":{"ms":100,"tag":"\#(tag)"}}"#
            case .timeout: call = #"{"name":"s__slow","arguments":{"ms":3000,"tag":"\#(tag)"}}"#
            case .cancel: call = #"{"name":"s__slow","arguments":{"ms":800,"tag":"\#(tag)"}}"#
            case .pid: call = #"{"name":"s__pid","arguments":{}}"#
            }
            state.withLock {
                $0.sent[key] = Sent(kind: kind, tag: tag)
                $0.inFlight.insert(key)
            }
            write(#"{"jsonrpc":"2.0","id":\#(idJSON),"method":"tools/call","params":\#(call)}"#)
            if kind == .cancel {
                // Cancel after a short while: sometimes before the backend has it, mostly while it runs.
                let delay = Double(n % 7) * 0.03
                Thread.detachNewThread { [self] in
                    Thread.sleep(forTimeInterval: delay)
                    let released: Bool = state.withLock {
                        $0.sent[key]?.cancelled = true
                        return $0.inFlight.remove(key) != nil
                    }
                    write(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":\#(idJSON),"reason":"soak"}}"#)
                    if released { slots.signal() }
                }
            }
        }

        // Drain: everything not cancelled is answered within the request timeout (1 s) plus slack.
        do {
            try waitUntil(15, "the answers still in flight") { state.withLock { $0.inFlight.isEmpty } }
        } catch {
            report.problems.append("\(error); in flight: \(state.withLock { Array($0.inFlight.prefix(10)) })")
        }
        Thread.sleep(forTimeInterval: 1.2) // late answers to cancelled calls, and duplicates, would arrive now
        if !process.isRunning { report.problems.append("the host died during the soak; stderr:\n\(stderrText.withLock { $0 })") }

        // End of input: the host exits 0 within a few seconds and leaves no backend behind.
        try? stdin.fileHandleForWriting.close()
        let exitDeadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < exitDeadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            report.problems.append("the host did not exit within 10 s of end of input")
        } else if process.terminationStatus != 0 || process.terminationReason != .exit {
            report.problems.append("the host exited with \(process.terminationReason == .exit ? "status" : "signal") \(process.terminationStatus); stderr:\n\(stderrText.withLock { $0 })")
        }
        let left = waitForNoProcesses(containing: marker, timeout: 5)
        if !left.isEmpty { report.problems.append("backend processes left after exit: \(left)") }

        // Every answer accounted for.
        let final = state.withLock { $0 }
        report.kills = final.kills
        for key in final.unknown { report.problems.append("an answer for an id never sent: \(key)") }
        for (key, sent) in final.sent {
            report.sent += 1
            if sent.kind == .echo { report.echoSent += 1 }
            if sent.cancelled {
                report.cancels += 1
                if sent.answers.count > 1 { report.problems.append("cancelled \(key) got \(sent.answers.count) answers") }
                if !sent.answers.isEmpty { report.cancelledAnswered += 1 }
            } else if sent.answers.count != 1 {
                report.problems.append("\(key) (\(sent.kind)) got \(sent.answers.count) answers")
                continue
            }
            guard let answer = sent.answers.first else { continue }
            report.okAfterLastKill += sent.answeredAfterKill == final.kills && final.kills > 0 && answer["result"] != nil ? 1 : 0
            if let error = answer["error"] as? [String: Any] {
                let code = error["code"] as? Int ?? 0
                switch code {
                case -32001: report.timeouts += 1
                case -32000: report.backendErrors += 1 // the backend was killed with this call in flight
                case -32002 where sent.cancelled: break
                default: report.problems.append("\(key) (\(sent.kind)) failed with \(error)")
                }
                if code == -32001 && sent.kind != .timeout && sent.kind != .cancel {
                    report.problems.append("\(key) (\(sent.kind)) timed out: \(error)")
                }
                continue
            }
            let text = firstText(answer)
            switch sent.kind {
            case .echo:
                report.echoOK += 1
                if text != sent.tag { report.problems.append("\(key) got another request's answer: \(text ?? "nil") instead of \(sent.tag)") }
            case .slow, .cancel:
                if text != "slow \(sent.tag)" { report.problems.append("\(key) got another request's answer: \(text ?? "nil")") }
            case .timeout:
                report.problems.append("\(key) (3 s call, 1 s request timeout) succeeded: \(answer)")
            case .pid:
                break
            }
        }
        return report
    }

    func write(_ line: String) {
        stdin.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    func waitUntil(_ seconds: Double, _ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { throw TestFailure("timed out after \(seconds) s waiting for \(what)") }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    /// Reads stdout lines, files each answer under its id and frees a slot for it.
    func readAnswers() {
        let handle = stdout.fileHandleForReading
        var buffer = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return }
            buffer.append(chunk)
            var start = buffer.startIndex
            while let newline = buffer[start...].firstIndex(of: 0x0A) {
                file(line: buffer[start..<newline])
                start = newline + 1
            }
            buffer = Data(buffer[start...])
        }
    }

    func file(line: Data) {
        guard let json = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
              json["method"] == nil, json["result"] != nil || json["error"] != nil else { return }
        guard let key = Self.key(json["id"]) else {
            state.withLock { $0.unknown.append("unreadable id in \(String(decoding: line, as: UTF8.self))") }
            return
        }
        var killPID: Int32?
        let release: Bool = state.withLock { state in
            guard state.sent[key] != nil else { state.unknown.append(key); return false }
            state.sent[key]!.answers.append(json)
            state.sent[key]!.answeredAfterKill = state.kills
            if state.sent[key]!.kind == .pid, let text = firstText(json), let pid = Int32(text) {
                killPID = pid
                state.kills += 1
            }
            return state.inFlight.remove(key) != nil
        }
        if let killPID { kill(killPID, SIGKILL) }
        if release { slots.signal() }
    }
}
