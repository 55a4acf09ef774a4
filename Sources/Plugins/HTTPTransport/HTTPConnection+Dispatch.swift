import AsyncHTTPClient
import HTTPTransportCore
import PluginAPI

/// The order in which host messages go out (one dispatcher per connection, taking them in order):
/// - a request's POST is started and not waited for (many in flight at once);
/// - `initialize` is awaited completely: its answer carries the session id everything after needs;
/// - a notification or a response (to a server's request) is POSTed and its 202 awaited before the
///   next message;
/// - while a lost session is being re-initialized, nothing is dispatched.
extension HTTPConnection {
    func runDispatcher() async {
        while let message = await queue.next() {
            if Task.isCancelled || isClosing { break }
            await waitForReinitialization()
            if isClosing { break }
            let mode = state.withLock { $0.mode }
            switch mode {
            case .streamable: await dispatchStreamable(message)
            case .legacy(let endpoint): await dispatchLegacy(message, endpoint: endpoint)
            }
        }
    }

    private func dispatchStreamable(_ message: [UInt8]) async {
        let info = JSONRPCMessage(message)
        switch info.kind {
        case .request:
            guard let id = info.id else { return }
            let isInitialize = info.method == "initialize"
            let request = InflightRequest(id: id, isInitialize: isInitialize)
            let duplicate = state.withLock { s -> Bool in
                if s.inflight[request.key] != nil { return true }
                s.inflight[request.key] = request
                if isInitialize { s.recordedInitialize = message }
                return false
            }
            if duplicate {
                // The host never reuses an id in flight; an answer could not tell the two apart.
                log(MCPH_LOG_ERROR, "backend '\(config.name)': the host reused the id of a request still in flight; dropped")
                return
            }
            if isInitialize {
                await runRequest(message, request)
            } else {
                let task = tracker.spawn { [self] in await runRequest(message, request) }
                request.task.withLock { $0 = task }
            }
        case .notification:
            let method = info.method ?? ""
            if method == "notifications/initialized" { state.withLock { $0.recordedInitialized = message } }
            // A cancelled request: nothing more is delivered for it from now on; its stream is
            // closed once the server has the cancellation (so it learns why the stream goes).
            let cancelled = method == "notifications/cancelled"
                ? JSONRPCMessage.cancelledRequestId(message).flatMap { settleCancelled(key: JSONRPCMessage.idKey($0)) } : nil
            let accepted = await postOneWay(message, what: method)
            if method == "notifications/initialized", accepted { startGetStream() }
            cancelled?.task.withLock { $0 }?.cancel()
        case .response:
            _ = await postOneWay(message, what: "a response")
        case .invalid:
            log(MCPH_LOG_WARNING, "backend '\(config.name)': dropped a message from the host that is not a JSON-RPC object")
        }
    }

    /// POSTs a notification or response and waits for its 202 (or 200). True when accepted.
    func postOneWay(_ message: [UInt8], what: String, retried: Bool = false) async -> Bool {
        let session = currentSession
        let response: HTTPClientResponse
        do {
            response = try await execute(request(.POST, config.url, body: message, accept: Self.postAccept, session: session),
                                         on: .control, deadline: oneWayDeadline)
        } catch {
            if !isClosing, !Task.isCancelled {
                log(MCPH_LOG_WARNING, "backend '\(config.name)': could not send \(what): \(Self.describe(error))")
            }
            return false
        }
        let status = Int(clamping: response.status.code)
        if (200..<300).contains(status) {
            await Self.drain(response)
            return true
        }
        if status == 404, let lost = session.id, !retried {
            await Self.drain(response)
            // The session is gone; a notification about the old one has nothing to go to.
            _ = await reinitialize(lost: lost)
            return false
        }
        let text = await statusText(response)
        log(MCPH_LOG_WARNING, "backend '\(config.name)': sending \(what) failed: \(text)")
        return false
    }

    /// The host cancelled a request (and has answered its client): deliver nothing more for it
    /// and forget it. The caller then cancels its task (which stops reading its answer).
    func settleCancelled(key: String) -> InflightRequest? {
        guard let request = state.withLock({ $0.inflight.removeValue(forKey: key) }) else { return nil }
        sink.serialized { request.settled.withLock { $0 = true } }
        return request
    }

    /// Answers `request` with a JSON-RPC error response (unless it was settled already) and
    /// forgets it.
    func answer(_ request: InflightRequest, error text: String) {
        forget(request)
        let response = JSONRPCMessage.errorResponse(id: request.id, code: ErrorText.code, message: text)
        sink.message(response, unless: {
            request.settled.withLock { settled in
                if settled { return true }
                settled = true
                return false
            }
        })
    }

    /// Removes `request` from the table of requests in flight (if it is still the one there).
    func forget(_ request: InflightRequest) {
        state.withLock { s in
            if s.inflight[request.key] === request { s.inflight[request.key] = nil }
        }
    }
}
