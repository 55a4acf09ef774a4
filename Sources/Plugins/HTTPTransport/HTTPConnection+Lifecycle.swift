import AsyncHTTPClient
import Foundation
import HTTPTransportCore
import NIOCore
import PluginAPI

/// Ending a connection: `close` (orderly, by the host), `fail` (the remote end is gone or the
/// handshake failed) and `destroy`. Exactly one terminal event, nothing after it.
extension HTTPConnection {
    /// Stops dispatching, cancels every POST and GET, DELETEs the session (best effort, within the
    /// grace; 405 is fine), then sends CLOSED. Returns at once; idempotent.
    func close(graceMs: Int) {
        let session: Session? = state.withLock { s in
            guard !s.closing else { return nil }
            s.closing = true
            if case .legacy = s.mode { return Session(id: nil, protocolVersion: nil) }
            return Session(id: s.sessionId, protocolVersion: s.protocolVersion)
        }
        guard let session else { return }
        queue.close()
        tracker.cancelAll()
        let grace = min(max(0, graceMs), 600_000)
        tracker.spawn(cancellable: false) { [self] in
            if session.id != nil, grace > 0 {
                let deadline = NIODeadline.now() + .milliseconds(Int64(grace))
                // Only the status is awaited (within the grace); the body is not read (it could stall).
                if let response = try? await execute(request(.DELETE, config.url, accept: nil, session: session), on: .control, deadline: deadline) {
                    log(MCPH_LOG_DEBUG, "backend '\(config.name)': DELETE of the session answered HTTP \(response.status.code)")
                }
            }
            sink.terminal(MCPH_EVENT_CLOSED, code: 0, detail: "closed")
        }
    }

    /// Ends the connection with FAILED (`detail` must hold no secret; the host prefixes the
    /// backend's name): answers every request in flight with an error first (never a hang), then
    /// stops everything.
    func fail(_ detail: String) {
        let pending: [InflightRequest]? = state.withLock { s in
            // Closing already (by close, or an earlier failure): that path sends the terminal event.
            if s.closing { return nil }
            s.closing = true
            let all = Array(s.inflight.values)
            s.inflight = [:]
            return all
        }
        guard let pending else { return }
        queue.close()
        let text = detail.hasPrefix("mcp-host: ") ? detail : "mcp-host: backend '\(config.name)': " + detail
        for request in pending {
            sink.message(JSONRPCMessage.errorResponse(id: request.id, code: ErrorText.code, message: text), unless: {
                request.settled.withLock { settled in
                    if settled { return true }
                    settled = true
                    return false
                }
            })
        }
        sink.terminal(MCPH_EVENT_FAILED, code: 1, detail: detail) // the host logs the detail
        tracker.cancelAll()
    }

    /// Closes (grace 0) if needed, waits for the connection's tasks, then shuts the client down.
    /// Called on a host thread of its own (never an event loop), so blocking here is allowed.
    func destroy() {
        close(graceMs: 0)
        if !tracker.waitForAll(seconds: 10) {
            log(MCPH_LOG_WARNING, "backend '\(config.name)': tasks still running 10 s into destroy; their callbacks are suppressed")
        }
        sink.markDestroyed()
        for client in [client, controlClient] {
            do {
                try client.syncShutdown()
            } catch {
                // Already shut down or requests still failing over: nothing is left to call back.
            }
        }
    }
}
