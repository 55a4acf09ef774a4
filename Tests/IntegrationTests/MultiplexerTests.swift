import Foundation
import Testing

/// The real binary, the real stdio plugin and real backend processes: what one shared backend
/// must get right when several requests (and clients) use it at once.
@Suite(.serialized)
struct MultiplexerTests {
    @Test func concurrentCallsToOneBackendRunInParallel() throws {
        let dir = try Paths.temporaryDirectory()
        let host = try HostProcess.initialized(["a": fakeServer(name: "a"), "b": fakeServer(name: "b")], in: dir)
        // Start both backends first, so the measurement is about calls, not process start-up.
        try host.request("warm-a", "tools/call", ["name": "a__echo", "arguments": ["text": "x"]])
        try host.request("warm-b", "tools/call", ["name": "b__echo", "arguments": ["text": "x"]])
        _ = try host.response(id: "warm-a")
        _ = try host.response(id: "warm-b")

        let start = Date()
        for i in 0..<20 {
            try host.request(i, "tools/call", ["name": "a__slow", "arguments": ["ms": 500, "tag": "\(i)"]])
        }
        // A call to the other backend while 20 slow calls are in flight on the first.
        try host.request("fast", "tools/call", ["name": "b__echo", "arguments": ["text": "not blocked"]])
        let fast = try host.response(id: "fast")
        #expect(firstText(fast) == "not blocked")
        // It was answered while every slow call was still in flight.
        #expect(!host.output.contains { $0.contains("slow ") }, "the other backend's call waited behind slow calls")
        for i in 0..<20 {
            let response = try host.response(id: i)
            #expect(firstText(response) == "slow \(i)", "each client id gets its own answer back")
        }
        let elapsed = Date().timeIntervalSince(start)
        // Serial execution would take 20 x 500 ms = 10 s.
        #expect(elapsed < 5, "20 concurrent 500 ms calls took \(elapsed) s")
        host.closeStdin()
        #expect(try host.waitForExit() == 0)
    }

    @Test func idsProgressAndUnknownFieldsSurviveByteForByte() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/backend.log"
        let host = try HostProcess.initialized(["f": fakeServer(name: "f", log: log)], in: dir)

        // 7 and "7" in flight at once, each asking for progress under the same client token.
        host.send(#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"f__progress","arguments":{"steps":3,"ms":100,"tag":"int"},"_meta":{"progressToken":"tok"}}}"#)
        host.send(#"{"jsonrpc":"2.0","id":"7","method":"tools/call","params":{"name":"f__progress","arguments":{"steps":3,"ms":100,"tag":"str"},"_meta":{"progressToken":1}}}"#)
        let intDone = try host.response(id: 7)
        let strDone = try host.response(id: "7")
        #expect(firstText(intDone) == "progress int")
        #expect(firstText(strDone) == "progress str")

        // Each call's progress arrived under its own client token, with the backend's message.
        let progress = host.output.compactMap { line -> [String: Any]? in
            guard let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  json["method"] as? String == "notifications/progress" else { return nil }
            return json["params"] as? [String: Any]
        }
        #expect(progress.count == 6)
        for params in progress {
            let message = params["message"] as? String
            if message == "int" { #expect(params["progressToken"] as? String == "tok") }
            else if message == "str" { #expect(params["progressToken"] as? Int == 1 && !(params["progressToken"] is String)) }
            else { Issue.record("unexpected progress \(params)") }
        }
        // Toward the backend, the two requests carried distinct host-side ids and tokens.
        let calls = try loggedMessages(log).filter { $0["method"] as? String == "tools/call" }
        let tokens = calls.compactMap { (($0["params"] as? [String: Any])?["_meta"] as? [String: Any])?["progressToken"] as? Int }
        #expect(tokens.count == 2 && Set(tokens).count == 2)

        // A result with structuredContent, _meta and an unknown field arrives byte for byte.
        host.send(#"{"jsonrpc":"2.0","id":"fid","method":"tools/call","params":{"name":"f__fidelity","arguments":{}}}"#)
        let line = try host.next(where: { sameID($0["id"], "fid") }).line
        let expected = #"{ "content" : [ {"type":"text","text":"fidelity"} ], "structuredContent":{"n":1.50,"s":"\u00e9"}, "_meta":{"vendor/x":[1,2,3]}, "x-future-field":{"deep":{"keep":true}}, "isError":false }"#
        #expect(line == #"{"jsonrpc":"2.0","id":"fid","result":"# + expected + "}")
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func clientCancellationReachesTheBackendUnderItsOwnID() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/backend.log"
        let host = try HostProcess.initialized(["f": fakeServer(name: "f", log: log)], in: dir)
        try host.request(5, "tools/call", ["name": "f__slow", "arguments": ["ms": 1500]])
        // Wait until the backend has the call, then cancel it.
        let backendID = try waitFor("the call to reach the backend") {
            try loggedMessages(log).first { $0["method"] as? String == "tools/call" }?["id"]
        }
        try host.send(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 5, "reason": "user pressed stop"]])
        let cancel = try waitFor("the backend to see notifications/cancelled") {
            try loggedMessages(log).first { $0["method"] as? String == "notifications/cancelled" }
        }
        let params = cancel["params"] as? [String: Any]
        #expect(sameID(params?["requestId"], backendID as Any))
        #expect(params?["reason"] as? String == "user pressed stop")
        // The late answer is dropped: the client never gets a response for id 5.
        try host.request(6, "tools/call", ["name": "f__slow", "arguments": ["ms": 1700]])
        _ = try host.response(id: 6)
        #expect(!host.output.contains { ($0.contains(#""id":5,"#) || $0.contains(#""id":5}"#)) })
        host.closeStdin()
        try host.waitForExit()
    }

    @Test func requestDeadlineAnswersTheClientAndCancelsTheBackend() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/backend.log"
        let host = try HostProcess.initialized(["f": fakeServer(name: "f", log: log)], in: dir, extra: ["--request-timeout", "2"])
        // Start the backend first, so the deadline is spent on the call itself.
        try host.request(0, "tools/call", ["name": "f__echo", "arguments": ["text": "warm"]])
        _ = try host.response(id: 0)
        try host.request(1, "tools/call", ["name": "f__slow", "arguments": ["ms": 8000]])
        let response = try host.response(id: 1, timeout: 10)
        let error = response["error"] as? [String: Any]
        #expect(error?["code"] as? Int == -32001)
        #expect((error?["message"] as? String)?.contains("'f'") == true)
        let cancel = try waitFor("the backend to see the cancel") {
            try loggedMessages(log).first { $0["method"] as? String == "notifications/cancelled" }
        }
        #expect(cancel["params"] != nil)
        host.closeStdin()
        try host.waitForExit()
    }

    /// A server's own `request_timeout` replaces `--request-timeout` for its requests only, both
    /// shorter (its call is cut off) and longer (its call outlives the host's default).
    @Test func aServersOwnRequestTimeoutReplacesTheHostsForItsRequests() throws {
        let dir = try Paths.temporaryDirectory()
        let log = dir + "/quick.log"
        var quick = fakeServer(name: "quick", log: log)
        quick["request_timeout"] = "1s"
        var patient = fakeServer(name: "patient")
        patient["request_timeout"] = "20s"
        let host = try HostProcess.initialized(["quick": quick, "patient": patient, "plain": fakeServer(name: "plain")],
                                               in: dir, extra: ["--request-timeout", "3"])
        for (i, name) in ["quick", "patient", "plain"].enumerated() {
            try host.request("warm\(i)", "tools/call", ["name": "\(name)__echo", "arguments": ["text": "warm"]])
            _ = try host.response(id: "warm\(i)")
        }
        let start = Date()
        try host.request(1, "tools/call", ["name": "quick__slow", "arguments": ["ms": 6000]])
        try host.request(2, "tools/call", ["name": "patient__slow", "arguments": ["ms": 4500]])
        try host.request(3, "tools/call", ["name": "plain__slow", "arguments": ["ms": 6000]])
        let quickAnswer = try host.response(id: 1, timeout: 10)
        let quickError = quickAnswer["error"] as? [String: Any]
        #expect(quickError?["code"] as? Int == -32001, "\(quickAnswer)")
        #expect((quickError?["message"] as? String)?.contains("'quick'") == true)
        #expect(Date().timeIntervalSince(start) < 2.9, "cut off by its own 1 s, not the host's 3 s")
        let plainAnswer = try host.response(id: 3, timeout: 10)
        #expect((plainAnswer["error"] as? [String: Any])?["code"] as? Int == -32001, "the host's 3 s still applies to the others")
        let patientAnswer = try host.response(id: 2, timeout: 15)
        #expect(patientAnswer["result"] != nil, "4.5 s is within its own 20 s: \(patientAnswer)")
        _ = try waitFor("the quick backend to see the cancel") {
            try loggedMessages(log).first { $0["method"] as? String == "notifications/cancelled" }
        }
        host.closeStdin()
        try host.waitForExit()
    }
}

func loggedMessages(_ path: String) throws -> [[String: Any]] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}

/// Polls `probe` until it yields a value.
/// `waitFor` for async tests: polls with `Task.sleep`, never blocking a thread of the shared
/// concurrency pool (a blocking wait in several parallel async tests can starve the tasks they
/// wait for on a 2-core machine).
func waitFor<T>(_ what: String, timeout: Double = 10, _ probe: () throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let value = try probe() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    if let value = try probe() { return value }
    throw TestFailure("timed out waiting for \(what)")
}

func waitFor<T>(_ what: String, timeout: Double = 10, _ probe: () throws -> T?) throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let value = try probe() { return value }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw TestFailure("timed out waiting for \(what)")
}
