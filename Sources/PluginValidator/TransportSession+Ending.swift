#if canImport(Glibc)
import Glibc
#endif
import Host
import PluginAPI

extension TransportSession {
    // MARK: - Close and destroy

    mutating func close() -> Bool {
        guard let connection, let closeFunction = suite.table.table.close else { return true }
        let close = Unchecked(closeFunction), grace = TransportChecks.closeGraceMs
        let before = probe.snapshot.terminal
        let start = MonotonicClock.nanoseconds()
        let result = suite.runner.call("close", limit: TransportChecks.watchdogSeconds) { close.value(connection.value, grace) }
        let timed: Timed<mcph_status>
        switch result {
        case .failure(let blocked): return wedged("transport.close", blocked, "close must begin the close and return at once")
        case .success(let value): timed = value
        }
        let bound = Double(grace) / 1000 + TransportChecks.closeMarginSeconds
        let (_, ended) = probe.wait(seconds: bound) { $0.terminal > 0 }
        let (state, _) = probe.wait(seconds: TransportChecks.settleSeconds) { _ in false }
        let terminals = state.events.filter { $0.event == MCPH_EVENT_FAILED || $0.event == MCPH_EVENT_CLOSED }
        var problems: [String] = []
        if timed.ownMilliseconds > TransportChecks.closeLimitMs {
            problems.append("close took \(format(timed.ownMilliseconds)) ms (limit \(Int(TransportChecks.closeLimitMs)) ms): it must return at once")
        }
        if !ended {
            problems.append("no terminal event within \(format(bound)) s of close(\(grace)) (the grace plus a \(Int(TransportChecks.closeMarginSeconds)) s margin)")
        } else if terminals.count > 1 {
            problems.append("\(terminals.count) terminal events (\(terminals.map { eventName($0.event) }.joined(separator: ", "))); exactly one per connection")
        }
        if problems.isEmpty, let last = terminals.first {
            let after = before > 0 ? "the connection had already ended" : "\(format(Double(MonotonicClock.elapsed(from: start, to: last.at)) / 1e6)) ms after close(\(grace))"
            report(.pass("transport.close", "one terminal event, \(eventName(last.event)) code \(last.code), \(after); close returned in \(format(timed.ownMilliseconds)) ms"))
        } else {
            report(.fail("transport.close", problems.joined(separator: "; ")))
        }
        return true
    }

    mutating func destroy() -> Bool {
        guard let connection, let destroyFunction = suite.table.table.destroy else { return true }
        let destroy = Unchecked(destroyFunction), probe = self.probe
        let result = suite.runner.call("destroy", limit: TransportChecks.destroySeconds) {
            destroy.value(connection.value)
            probe.markDestroyed()
        }
        let timed: Timed<Void>
        switch result {
        case .failure(let blocked): return wedged("transport.destroy", blocked, "destroy may wait for the plugin's threads, not for ever")
        case .success(let value): timed = value
        }
        let (state, _) = probe.wait(seconds: TransportChecks.settleSeconds) { _ in false }
        if state.afterDestroy > 0 {
            report(.fail("transport.destroy", "\(state.afterDestroy) callback(s) within \(format(TransportChecks.settleSeconds)) s after destroy returned; when destroy returns no callback may run or follow (join the connection's threads first)"))
        } else {
            report(.pass("transport.destroy", "returned in \(format(timed.milliseconds)) ms; no callback in the \(format(TransportChecks.settleSeconds)) s after"))
        }
        return true
    }

    // MARK: - Callbacks and processes

    mutating func callbacksCheck() {
        let state = probe.snapshot
        var problems: [String] = []
        if state.overlaps > 0 { problems.append("\(state.overlaps) callback(s) ran while another of the same connection was running (on_message and on_event are serialized per connection)") }
        if state.messagesAfterTerminal > 0 { problems.append("\(state.messagesAfterTerminal) message(s) after the terminal event") }
        if state.lateOpened > 0 { problems.append("OPENED more than once, or after the terminal event") }
        if state.impossibleLengths > 0 { problems.append("\(state.impossibleLengths) message(s) with an impossible len (past SIZE_MAX/2, or with a NULL ptr)") }
        let malformed = state.messages.filter { !Self.looksLikeJSON($0) }
        if !malformed.isEmpty {
            let sample = String(decoding: malformed[0].prefix(80), as: UTF8.self)
            problems.append("\(malformed.count) message(s) that are not one JSON object or array (framing left in? e.g. \"\(sample)\")")
        }
        if problems.isEmpty {
            report(.pass("transport.callbacks", "\(state.messageCount) message(s) and \(state.events.count) event(s), serialized; nothing after the terminal event"))
        } else {
            report(.fail("transport.callbacks", problems.joined(separator: "; ")))
        }
    }

    /// One JSON object or array, without framing: `{...}` or `[...]`, surrounding whitespace allowed.
    static func looksLikeJSON(_ bytes: [UInt8]) -> Bool {
        let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        guard let first = bytes.first(where: { !space.contains($0) }), let last = bytes.last(where: { !space.contains($0) }) else { return false }
        return (first == UInt8(ascii: "{") && last == UInt8(ascii: "}")) || (first == UInt8(ascii: "[") && last == UInt8(ascii: "]"))
    }

    mutating func children(before: Set<Int32>, group: Int32?) {
        let deadline = MonotonicClock.deadline(after: 3, from: MonotonicClock.nanoseconds())
        var left = ProcessTable.leftovers(before: before, group: group)
        while !left.isEmpty && MonotonicClock.nanoseconds() < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            nanosleep(&pause, nil)
            left = ProcessTable.leftovers(before: before, group: group)
        }
        let where_ = group.map { "no child of the validator and nothing in process group \($0)" } ?? "no child of the validator"
        if left.isEmpty {
            report(.pass("transport.children", "\(where_) left after destroy"))
        } else {
            ProcessTable.clean(left, group: group)
            report(.fail("transport.children", "left behind after close and destroy: \(left.map(\.shown).joined(separator: ", ")) (the validator killed them); a transport must end every process it started, and reap its children"))
        }
    }
}
