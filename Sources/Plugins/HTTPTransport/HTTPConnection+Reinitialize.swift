import AsyncHTTPClient
import HTTPTransportCore
import Locking
import NIOCore
import PluginAPI

/// A lost session (404 to a request carrying our `Mcp-Session-Id`): one re-initialization at a
/// time, everyone else waits for it. It forgets the session id, replays the host's initialize
/// request (its exact bytes with an id of the plugin's own, "mcph-http-reinit-N", whose answer is
/// swallowed) and `notifications/initialized`, reopens the GET stream and tells the host
/// (SESSION_RESET, or FAILED for a host older than ABI 1.3, which would not know the event).
extension HTTPConnection {
    private enum Step { case lead, done(Bool), wait }

    /// Makes a new session after `lost` was lost, or waits for the re-initialization running.
    /// True when a session is there to retry on; false when the connection failed (its requests
    /// were answered with errors) or is closing.
    func reinitialize(lost: String) async -> Bool {
        let step: Step = state.withLock { s in
            if s.closing { return .done(false) }
            if case .running = s.reinitialization { return .wait }
            // Already replaced by an earlier re-initialization: retry on the new session.
            if let current = s.sessionId, current != lost { return .done(true) }
            s.reinitialization = .running(waiters: [])
            return .lead
        }
        switch step {
        case .done(let ok): return ok
        case .wait: return await waitForReinitialization()
        case .lead: break
        }
        // The re-initialization runs in a task of its own: cancelling the request that noticed the
        // loss (the host cancelled it) must not cancel it. It is bounded by `reinitializeLimit`.
        let timedOut = Locked(false)
        let work = tracker.spawn { [self] in
            let ok = await performReinitialization(timedOut: timedOut)
            let waiters: [CheckedContinuation<Bool, Never>] = state.withLock { s in
                guard case .running(let waiters) = s.reinitialization else { return [] }
                s.reinitialization = .idle
                return waiters
            }
            for waiter in waiters { waiter.resume(returning: ok) }
        }
        let limit = Self.reinitializeLimitMs(connectTimeout: config.connectTimeoutSeconds)
        let timer = tracker.spawn {
            try? await Task.sleep(for: .milliseconds(limit))
            if Task.isCancelled { return }
            timedOut.withLock { $0 = true }
            work.cancel()
        }
        let ok = await waitForReinitialization()
        timer.cancel()
        return ok
    }

    /// How long a re-initialization may take: twice the connect timeout plus 30 s.
    static func reinitializeLimitMs(connectTimeout: Double) -> Int {
        Int(min(max(connectTimeout, 0), 3600) * 2000) + 30_000
    }

    /// Waits while a re-initialization runs (the dispatcher waits before sending anything).
    /// True when there is a session to go on with.
    @discardableResult
    func waitForReinitialization() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let appended = state.withLock { s -> Bool in
                guard case .running(var waiters) = s.reinitialization else { return false }
                waiters.append(continuation)
                s.reinitialization = .running(waiters: waiters)
                return true
            }
            if !appended { continuation.resume(returning: !isClosing) }
        }
    }

    private func performReinitialization(timedOut: Locked<Bool>) async -> Bool {
        /// Why an I/O step failed: the limit, or the error itself.
        func reason(_ error: any Error) -> String {
            timedOut.withLock { $0 } ? "it took longer than \(Self.reinitializeLimitMs(connectTimeout: config.connectTimeoutSeconds) / 1000) s" : Self.describe(error)
        }
        let (recorded, initialized, number) = state.withLock { s in
            s.sessionId = nil
            s.reinitializations += 1
            return (s.recordedInitialize, s.recordedInitialized, s.reinitializations)
        }
        stopGetStream()
        guard sink.hostMinor >= 3 else {
            // A host before ABI 1.3 does not know SESSION_RESET: end, so that it starts the backend again.
            log(MCPH_LOG_INFO, "backend '\(config.name)' lost its session (HTTP 404); this host predates ABI 1.3, so the connection ends")
            fail("the remote server lost the session")
            return false
        }
        log(MCPH_LOG_INFO, "backend '\(config.name)' lost its session (HTTP 404); re-initializing")
        let ownId = Array(JSONText.quote("mcph-http-reinit-\(number)").utf8)
        guard let recorded, let replay = JSONRPCMessage.replacingId(in: recorded, with: ownId) else {
            fail("the remote server lost the session before the handshake was recorded")
            return false
        }

        // The initialize request, without session headers; its answer is swallowed.
        let response: HTTPClientResponse
        do {
            response = try await execute(request(.POST, config.url, body: replay, accept: Self.postAccept, session: nil), on: .control)
        } catch {
            if isClosing { return false }
            fail("the remote server lost the session and re-initializing failed: \(reason(error))")
            return false
        }
        guard (200..<300).contains(Int(clamping: response.status.code)) else {
            let text = await statusText(response)
            fail("the remote server lost the session and re-initializing failed: \(text)")
            return false
        }
        adoptSession(from: response)
        let placeholder = InflightRequest(id: ownId, isInitialize: false)
        switch await readSwallowed(response, for: placeholder) {
        case .some(let error):
            if isClosing { return false }
            let why = timedOut.withLock { $0 } ? "it took longer than \(Self.reinitializeLimitMs(connectTimeout: config.connectTimeoutSeconds) / 1000) s" : error
            fail("the remote server lost the session and re-initializing failed: \(why)")
            return false
        case .none:
            break
        }

        if let initialized {
            let session = currentSession
            do {
                let response = try await execute(request(.POST, config.url, body: initialized, accept: Self.postAccept, session: session), on: .control)
                let status = Int(clamping: response.status.code)
                await Self.drain(response)
                guard (200..<300).contains(status) else {
                    fail("the remote server lost the session and re-initializing failed: notifications/initialized answered HTTP \(status)")
                    return false
                }
            } catch {
                if isClosing { return false }
                fail("the remote server lost the session and re-initializing failed: \(reason(error))")
                return false
            }
            startGetStream()
        }

        if isClosing { return false }
        sink.event(MCPH_EVENT_SESSION_RESET, detail: "the remote server lost the session; re-initialized")
        let session = currentSession
        log(MCPH_LOG_INFO, "backend '\(config.name)' re-initialized")
        if let id = session.id { log(MCPH_LOG_DEBUG, "backend '\(config.name)' new session \(id)") }
        return true
    }

    /// Reads the answer to the replayed initialize without delivering anything; nil when it was
    /// a successful response, else what went wrong.
    private func readSwallowed(_ response: HTTPClientResponse, for request: InflightRequest) async -> String? {
        var answer: [UInt8]?
        func take(_ message: [UInt8]) -> Bool {
            let info = JSONRPCMessage(message)
            guard info.kind == .response, info.idKey == request.key else { return false }
            answer = message
            return true
        }
        switch Self.bodyKind(response) {
        case .json:
            guard let body = try? await Self.collect(response, limit: Self.maxMessageBytes) else { return "the answer could not be read" }
            for message in JSONRPCMessage.splitBatch(body) ?? [body] where take(message) { break }
        case .eventStream:
            var parser = SSEParser(maxEventBytes: Self.maxMessageBytes)
            do {
                reading: for try await buffer in response.body {
                    for case .event(let event) in parser.feed(buffer.readableBytesView) where event.type == "message" {
                        if take(event.data) { break reading }
                    }
                }
            } catch {
                return "the answer stream broke"
            }
        case .other:
            await Self.drain(response)
            return "the answer was neither JSON nor an event stream"
        }
        guard let answer else { return "no answer to the initialize request" }
        guard JSONRPCMessage(answer).resultRange != nil else { return "the initialize request was refused: \(ErrorTextShort.cut(String(decoding: answer, as: UTF8.self), 200))" }
        if let version = JSONRPCMessage.protocolVersion(ofInitializeResponse: answer),
           version.utf8.count <= 64, version.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) {
            state.withLock { $0.protocolVersion = version }
        }
        return nil
    }
}
