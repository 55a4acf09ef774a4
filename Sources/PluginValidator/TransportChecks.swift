#if canImport(Glibc)
import Glibc
#endif
import Host
import PluginAPI

/// The transport checks: one connection opened with the user's `--connection-config` and taken
/// through the whole lifecycle (open, OPENED, an `initialize` round trip, a flood for
/// back-pressure, close, destroy), timing every call and recording every callback.
///
/// Every call into the plugin goes through the runner's watchdog. When one blocks, that check
/// fails naming the function, the checks after it are skipped ("not run") and the plugin is
/// treated as wedged (no further call, no deinit).
struct TransportChecks {
    // Limits. A "non-blocking" call is timed on the thread that makes it.
    static let openLimitMs = 100.0
    static let sendLimitMs = 50.0
    static let closeLimitMs = 100.0
    /// How long a call that must not block may take before it counts as blocked (the watchdog).
    static let watchdogSeconds = 2.0
    /// `destroy` may block until the plugin's threads are done; past this it counts as blocked.
    static let destroySeconds = 15.0
    static let closeGraceMs: UInt32 = 1000
    /// The fixed margin after the grace (the host waits as long before it logs a stuck close).
    static let closeMarginSeconds = 5.0
    /// Quiet time after close / destroy in which nothing more may arrive.
    static let settleSeconds = 0.5
    // The flood: notifications of 1 KiB, doubling every `floodBatch` messages up to 1 MiB (a slow
    // backend meets back-pressure with little to read; a fast one gets bigger messages), until
    // MCPH_E_AGAIN twice, or the budget is spent.
    static let floodFirstBytes = 1 << 10
    static let floodLastBytes = 1 << 20
    static let floodBatch = 2048
    static let floodRounds = 2
    static let floodBudgetBytes = 256 << 20
    static let floodBudgetSeconds = 20.0

    static let checkIDs = ["transport.open", "transport.opened", "transport.round-trip", "transport.send",
                           "transport.back-pressure", "transport.close", "transport.callbacks", "transport.destroy",
                           "transport.children"]

    let table: TransportTable
    let state: Unchecked<UnsafeMutableRawPointer?>
    let runner: PluginCallRunner
    let logs: PluginLogSink
    /// The JSON object handed to `open`.
    let config: [UInt8]
    /// How long to wait for OPENED and for answers.
    let timeout: Double
    let record: (CheckResult) -> Void

    /// Runs the checks; false when a call blocked (the plugin must not be called again).
    func run() -> Bool {
        var session = TransportSession(suite: self)
        return session.run()
    }
}

/// One run of the transport checks (mutable bookkeeping kept apart from the suite's settings).
/// The flood is in TransportSession+BackPressure.swift, the ending (close, destroy, callbacks,
/// processes) in TransportSession+Ending.swift.
struct TransportSession {
    let suite: TransportChecks
    var pending = TransportChecks.checkIDs
    var connection: Unchecked<UnsafeMutableRawPointer>?
    let probe: ConnectionProbe
    /// This process's children before `open`, and the process group OPENED reported (if any).
    var childrenBefore: Set<Int32> = []
    var group: Int32?
    var sends = SendStats()

    struct SendStats {
        var count = 0
        var slowestMs = 0.0
        var slowestWhat = ""
        var blocked: Blocked?
    }

    init(suite: TransportChecks) {
        self.suite = suite
        probe = ConnectionProbe(logs: suite.logs)
    }

    mutating func report(_ result: CheckResult) {
        pending.removeAll { $0 == result.id }
        suite.record(result)
    }

    mutating func skipRest(_ reason: String) {
        for id in pending { suite.record(.skip(id, reason)) }
        pending = []
    }

    /// A call blocked: fail its check, skip the rest, and say the plugin is wedged. What the
    /// connection started is killed all the same (the validator leaves nothing behind).
    mutating func wedged(_ id: String, _ blocked: Blocked, _ advice: String) -> Bool {
        report(.fail(id, blocked.description + "; " + advice))
        let left = ProcessTable.leftovers(before: childrenBefore, group: group)
        ProcessTable.clean(left, group: group)
        let killed = left.isEmpty ? "" : " (the validator killed what the connection had started: \(left.map(\.shown).joined(separator: ", ")))"
        skipRest("not run: \(blocked.function) blocked" + killed)
        return false
    }

    mutating func run() -> Bool {
        childrenBefore = ProcessTable.children()
        let table = suite.table.table

        // open: returns at once with a connection.
        let open = Unchecked(table.open!), pluginState = suite.state, callbacks = Unchecked(probe.callbacks), config = suite.config
        let opened = suite.runner.call("open", limit: TransportChecks.watchdogSeconds) { () -> (mcph_status, Unchecked<UnsafeMutableRawPointer?>, String) in
            var error = [CChar](repeating: 0, count: 1024)
            var conn: UnsafeMutableRawPointer?
            let status = config.withUnsafeBufferPointer { json in
                json.withMemoryRebound(to: CChar.self) { text in
                    open.value(pluginState.value, text.baseAddress, text.count, callbacks.value, &conn, &error, error.count)
                }
            }
            return (status, Unchecked(conn), cText(error))
        }
        let answer: Timed<(mcph_status, Unchecked<UnsafeMutableRawPointer?>, String)>
        switch opened {
        case .failure(let blocked):
            return wedged("transport.open", blocked, "open must return at once and report OPENED or FAILED later, from a thread of its own")
        case .success(let value): answer = value
        }
        let (status, conn, error) = answer.value
        guard status == MCPH_OK, let pointer = conn.value else {
            let (seen, _) = probe.wait(seconds: 0.2) { _ in false }
            let late = seen.events.isEmpty && seen.messageCount == 0 ? "" : "; and then it called back anyway (the ABI: no callback after a refused open)"
            let why = status == MCPH_OK ? "open returned MCPH_OK but no connection" : "open refused --connection-config (status \(status)): \(error.isEmpty ? "no message" : error)"
            report(.fail("transport.open", why + late))
            skipRest("not run: open failed")
            return true
        }
        connection = Unchecked(pointer)
        if answer.ownMilliseconds > TransportChecks.openLimitMs {
            report(.fail("transport.open", "open took \(format(answer.ownMilliseconds)) ms (limit \(Int(TransportChecks.openLimitMs)) ms): it must return at once and report OPENED or FAILED later (it holds up the plugin's other opens)"))
        } else {
            report(.pass("transport.open", "returned MCPH_OK in \(format(answer.ownMilliseconds)) ms (limit \(Int(TransportChecks.openLimitMs)) ms)"))
        }

        // Exactly one of OPENED / FAILED.
        let (afterOpen, settled) = probe.wait(seconds: suite.timeout) { $0.opened > 0 || $0.terminal > 0 }
        var live = false
        if !settled {
            report(.fail("transport.opened", "neither OPENED nor FAILED within \(format(suite.timeout)) s of open"))
        } else if let first = afterOpen.events.first(where: { $0.event == MCPH_EVENT_OPENED || $0.event == MCPH_EVENT_FAILED || $0.event == MCPH_EVENT_CLOSED }),
                  first.event == MCPH_EVENT_OPENED {
            group = first.code > 0 ? first.code : nil
            live = true
            let pid = first.code > 0 ? "process \(first.code)" : "code 0: no process"
            report(.pass("transport.opened", "one OPENED (\(pid)\(first.detail.isEmpty ? "" : "; '\(first.detail)'"))"))
        } else {
            let ended = probe.terminalEvent
            report(.fail("transport.opened", "the connection ended before it opened: \(eventName(ended?.event ?? 0)) code \(ended?.code ?? 0): \(ended?.detail ?? ""); check --connection-config"))
        }

        if live {
            roundTrip()
            if let ended = probe.terminalEvent, sends.blocked == nil {
                report(.skip("transport.back-pressure", "not run: the connection ended (\(eventName(ended.event)) code \(ended.code))"))
            } else if sends.blocked == nil {
                backPressure()
            }
        } else {
            for id in ["transport.round-trip", "transport.back-pressure"] where pending.contains(id) {
                report(.skip(id, "not run: the connection did not open"))
            }
        }
        if let blocked = sends.blocked { return wedged("transport.send", blocked, "send must never block (queue, answer MCPH_E_AGAIN, send WRITABLE later)") }
        if pending.contains("transport.send") {
            if sends.count == 0 {
                report(.skip("transport.send", "not run: nothing was sent"))
            } else if sends.slowestMs > TransportChecks.sendLimitMs {
                report(.fail("transport.send", "send took \(format(sends.slowestMs)) ms on \(sends.slowestWhat) (limit \(Int(TransportChecks.sendLimitMs)) ms): send must never block; queue the message, or answer MCPH_E_AGAIN"))
            } else {
                report(.pass("transport.send", "\(sends.count) sends, the slowest \(format(sends.slowestMs)) ms (limit \(Int(TransportChecks.sendLimitMs)) ms; time spent waiting for a CPU not counted)"))
            }
        }

        guard close() else { return false }
        guard destroy() else { return false }
        callbacksCheck()
        children(before: childrenBefore, group: group)
        return true
    }

    // MARK: - Messages

    /// Sends `bytes` (borrowed: the plugin copies them), timed; nil when send blocked.
    mutating func send(_ bytes: [UInt8], what: String) -> mcph_status? {
        guard let connection, let sendFunction = suite.table.table.send else { return nil }
        let send = Unchecked(sendFunction)
        let result = suite.runner.call("send", limit: TransportChecks.watchdogSeconds) {
            bytes.withUnsafeBufferPointer { buffer in
                send.value(connection.value, mcph_bytes(ptr: buffer.baseAddress, len: buffer.count, release: nil, release_ctx: nil))
            }
        }
        switch result {
        case .failure(let blocked):
            sends.blocked = blocked
            return nil
        case .success(let timed):
            sends.count += 1
            if timed.ownMilliseconds > sends.slowestMs {
                sends.slowestMs = timed.ownMilliseconds
                sends.slowestWhat = what
            }
            return timed.value
        }
    }

    /// Waits for the response to the request whose id is the string `id`.
    func response(to id: String, seconds: Double) -> [UInt8]? {
        let needle = Array("\"\(id)\"".utf8)
        let (state, found) = probe.wait(seconds: seconds) { state in
            state.messages.contains { Self.isResponse($0, needle) } || state.terminal > 0
        }
        guard found else { return nil }
        return state.messages.first { Self.isResponse($0, needle) }
    }

    static func isResponse(_ message: [UInt8], _ quotedID: [UInt8]) -> Bool {
        containsBytes(message, quotedID) && (containsBytes(message, Array("\"result\"".utf8)) || containsBytes(message, Array("\"error\"".utf8)))
    }

    /// An `initialize` request round-trips. (A send that blocks is reported by the caller.)
    mutating func roundTrip() {
        let id = "mcph-validator-initialize"
        let request = #"{"jsonrpc":"2.0","id":"\#(id)","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcp-host validate-plugin","version":"\#(HostVersion.string)"}}}"#
        guard let status = send(Array(request.utf8), what: "initialize") else { return }
        guard status == MCPH_OK else {
            report(.fail("transport.round-trip", "send(initialize) answered \(statusName(status)) on a fresh connection"))
            return
        }
        guard let answer = response(to: id, seconds: suite.timeout) else {
            if let ended = probe.terminalEvent {
                report(.fail("transport.round-trip", "the connection ended before initialize was answered: \(eventName(ended.event)) code \(ended.code): \(ended.detail)"))
            } else {
                report(.fail("transport.round-trip", "no response with id \"\(id)\" to initialize within \(format(suite.timeout)) s"))
            }
            return
        }
        let kind = containsBytes(answer, Array("\"error\"".utf8)) ? "an error response" : "a result"
        report(.pass("transport.round-trip", "initialize answered with \(kind) carrying the same id"))
        _ = send(Array(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8), what: "notifications/initialized")
    }
}
