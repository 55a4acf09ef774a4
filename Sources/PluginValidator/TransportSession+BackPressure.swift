#if canImport(Glibc)
import Glibc
#endif
import Host
import PluginAPI

extension TransportSession {
    // MARK: - Back-pressure

    /// Floods `send` with notifications the backend ignores (a cancellation of a request that does
    /// not exist, padded; see `floodFirstBytes`) until MCPH_E_AGAIN; checks that WRITABLE follows
    /// each one exactly once, then that the connection still answers (a ping).
    mutating func backPressure() {
        func notification(_ size: Int) -> [UInt8] {
            let padding = String(repeating: "x", count: size)
            return Array(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"mcph-validator-none","reason":"\#(padding)"}}"#.utf8)
        }
        var size = TransportChecks.floodFirstBytes
        var flood = notification(size)
        var batch = 0
        let started = MonotonicClock.nanoseconds()
        let deadline = MonotonicClock.deadline(after: TransportChecks.floodBudgetSeconds, from: started)
        var sentBytes = 0, sent = 0, again = 0
        while again < TransportChecks.floodRounds && sentBytes < TransportChecks.floodBudgetBytes && MonotonicClock.nanoseconds() < deadline {
            guard let status = send(flood, what: "message \(sent + 1) of the flood") else { return } // blocked
            switch status {
            case MCPH_OK:
                sent += 1
                sentBytes += flood.count
                batch += 1
                if batch == TransportChecks.floodBatch && size < TransportChecks.floodLastBytes {
                    size *= 2
                    flood = notification(size)
                    batch = 0
                }
            case MCPH_E_AGAIN:
                again += 1
                let (state, came) = probe.wait(seconds: suite.timeout) { $0.writable >= again || $0.terminal > 0 }
                guard came, state.writable >= again else {
                    let ended = state.terminal > 0 ? " (the connection ended instead)" : ""
                    report(.fail("transport.back-pressure", "send answered MCPH_E_AGAIN after \(sent) messages (\(formatBytes(sentBytes))) and no WRITABLE came within \(format(suite.timeout)) s\(ended): a host would hold this connection's messages forever; send WRITABLE once the queue has room"))
                    return
                }
            default:
                report(.fail("transport.back-pressure", "send answered \(statusName(status)) during the flood (after \(sent) messages); expected MCPH_OK or MCPH_E_AGAIN"))
                return
            }
            if probe.snapshot.terminal > 0 {
                let ended = probe.terminalEvent
                report(.fail("transport.back-pressure", "the connection ended during the flood (\(eventName(ended?.event ?? 0)) \(ended?.code ?? 0): \(ended?.detail ?? ""))"))
                return
            }
        }

        // Recovered: a request after the flood is answered.
        let ping = "mcph-validator-ping"
        guard let status = send(Array(#"{"jsonrpc":"2.0","id":"\#(ping)","method":"ping"}"#.utf8), what: "ping after the flood") else { return }
        guard status == MCPH_OK else {
            report(.fail("transport.back-pressure", "send(ping) after the flood answered \(statusName(status)) although every WRITABLE had come"))
            return
        }
        guard response(to: ping, seconds: suite.timeout) != nil else {
            report(.fail("transport.back-pressure", "no answer to a ping sent after the flood within \(format(suite.timeout)) s: the connection did not recover"))
            return
        }
        let (settled, _) = probe.wait(seconds: TransportChecks.settleSeconds) { _ in false }
        guard settled.writable == again else {
            report(.fail("transport.back-pressure", "\(settled.writable) WRITABLE events for \(again) MCPH_E_AGAIN answers; exactly one is owed after each"))
            return
        }
        let flooded = "\(sent) messages (\(formatBytes(sentBytes)), up to \(formatBytes(size)) each)"
        if again == 0 {
            report(.skip("transport.back-pressure", "no MCPH_E_AGAIN within \(flooded): back-pressure not exercised (a ping after the flood was answered)"))
        } else {
            report(.pass("transport.back-pressure", "\(again) MCPH_E_AGAIN, each followed by one WRITABLE, within \(flooded); a ping afterwards was answered"))
        }
        return
    }
}
