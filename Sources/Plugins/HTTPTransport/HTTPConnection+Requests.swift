import AsyncHTTPClient
import HTTPTransportCore
import NIOCore
import PluginAPI

/// One host request: its POST, its answer (JSON or an SSE stream carrying related messages before
/// the response), and what happens when that goes wrong. Every path ends with the request answered:
/// by the server, or by an error response made here; never a hang.
extension HTTPConnection {
    /// How reading an answer ended.
    enum AnswerOutcome {
        /// The response was delivered.
        case answered
        /// Cancelled by the host, answered by someone else, or the connection is closing.
        case settled
        /// The stream ended (EOF, reset) before the response; resume it if an event id was seen.
        case ended(lastEventId: String?, retryMs: Int?)
        /// No response: the error text to answer with (a JSON body without it, an unexpected
        /// content type, a session lost while resuming).
        case noAnswer(String)
        /// A message larger than the limit.
        case tooLarge(Int)
    }

    func runRequest(_ message: [UInt8], _ request: InflightRequest, retried: Bool = false) async {
        // A re-initialization that began after the dispatcher handed this request over (another
        // request met the 404 meanwhile) has no session to offer yet: wait for the new one rather
        // than POST without a session id (which the server refuses with a 400 that is not retried).
        if !request.isInitialize, !(await waitForReinitialization()) { return } // failed: its requests were answered
        if request.isSettled { return }
        // initialize starts a session: it never carries one.
        let session = request.isInitialize ? Session() : currentSession
        let response: HTTPClientResponse
        do {
            response = try await execute(self.request(.POST, config.url, body: message, accept: Self.postAccept, session: session))
        } catch {
            if request.isSettled || isClosing { return }
            let text = ErrorText.unreachable(backend: config.name, url: config.url, reason: Self.describe(error), secrets: secrets)
            fail(request, text)
            return
        }
        let status = Int(clamping: response.status.code)

        if status == 404, let lost = session.id {
            await Self.drain(response)
            if retried {
                fail(request, ErrorText.lostWithSession(backend: config.name) + " (HTTP 404 again after re-initializing)")
                return
            }
            // The server lost the session: make a new one (or wait for the one being made), then retry once.
            guard await reinitialize(lost: lost) else { return } // the connection failed; its requests were answered
            if request.isSettled || isClosing { return }
            await runRequest(message, request, retried: true)
            return
        }
        if request.isInitialize, config.mode == .streamable, [400, 404, 405].contains(status) {
            // Old servers refuse a POST to their SSE URL this way: try the legacy transport.
            let refusal = await statusText(response)
            await fallBackToLegacy(message, request, refusal: refusal)
            return
        }
        guard (200..<300).contains(status) else {
            fail(request, await statusText(response))
            return
        }
        if request.isInitialize { adoptSession(from: response) }

        var outcome = await readAnswer(response, for: request)
        if case .ended(let lastEventId?, let retryMs) = outcome {
            outcome = await resume(request, on: session, lastEventId: lastEventId, retryMs: retryMs)
        }
        switch outcome {
        case .answered, .settled:
            forget(request)
        case .ended:
            fail(request, ErrorText.endedBeforeAnswer(backend: config.name))
        case .noAnswer(let text):
            fail(request, text)
        case .tooLarge(let bytes):
            fail(request, ErrorText.tooLarge(backend: config.name, bytes: bytes, limit: Self.maxMessageBytes))
        }
    }

    /// Answers `request` with an error; an initialize that failed also ends the connection
    /// (FAILED with the same text), so the host's start fails with this reason.
    func fail(_ request: InflightRequest, _ text: String) {
        answer(request, error: text)
        if request.isInitialize {
            fail(text)
        }
    }

    /// Takes the session id of an initialize response (and logs it).
    func adoptSession(from response: HTTPClientResponse) {
        guard let id = response.headers.first(name: "Mcp-Session-Id") else { return }
        guard !id.isEmpty, id.utf8.count <= 1024, id.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            log(MCPH_LOG_WARNING, "backend '\(config.name)' sent an Mcp-Session-Id that is not 1 to 1024 visible ASCII characters; ignored")
            return
        }
        state.withLock { $0.sessionId = id }
    }

    /// Reads the answer to `request`'s POST (or to its resumption GET) and delivers what it carries.
    func readAnswer(_ response: HTTPClientResponse, for request: InflightRequest, lastEventId: String? = nil) async -> AnswerOutcome {
        switch Self.bodyKind(response) {
        case .json:
            let body: [UInt8]?
            do { body = try await Self.collect(response, limit: Self.maxMessageBytes) } catch {
                return request.isSettled || isClosing ? .settled : .ended(lastEventId: nil, retryMs: nil)
            }
            guard let body else {
                log(MCPH_LOG_ERROR, "backend '\(config.name)': dropped a JSON answer of more than \(Self.maxMessageBytes >> 20) MiB")
                return .tooLarge(Self.maxMessageBytes)
            }
            var answered = false
            for message in JSONRPCMessage.splitBatch(body) ?? [body] where deliver(message, for: request) {
                answered = true
            }
            if answered { return .answered }
            return request.isSettled ? .settled : .noAnswer("mcp-host: backend '\(config.name)' answered HTTP \(response.status.code) without a JSON-RPC response")
        case .eventStream:
            return await readEventStream(response, for: request, lastEventId: lastEventId)
        case .other:
            await Self.drain(response)
            if request.isSettled { return .settled }
            if response.status.code == 202 { return .noAnswer("mcp-host: backend '\(config.name)' accepted the request (HTTP 202) without answering it") }
            let type = ErrorTextShort.cut(response.headers.first(name: "Content-Type") ?? "none", 60)
            return .noAnswer("mcp-host: backend '\(config.name)' answered with the content type '\(type)' (expected application/json or text/event-stream)")
        }
    }

    /// Reads an SSE answer: every message in order, until the response to `request`.
    func readEventStream(_ response: HTTPClientResponse, for request: InflightRequest, lastEventId: String?) async -> AnswerOutcome {
        var parser = SSEParser(maxEventBytes: Self.maxMessageBytes)
        // One iterator for the whole body (AsyncHTTPClient allows only one).
        var body = response.body.makeAsyncIterator()
        do {
            while let buffer = try await body.next() {
                for output in parser.feed(buffer.readableBytesView) {
                    switch output {
                    case .event(let event):
                        guard event.type == "message", !event.data.isEmpty else { continue }
                        if deliver(event.data, for: request) {
                            await drainAfterAnswer(&body, request)
                            return .answered
                        }
                    case .oversized(let bytes):
                        log(MCPH_LOG_ERROR, "backend '\(config.name)': dropped an SSE event of \(bytes)+ bytes (limit \(Self.maxMessageBytes >> 20) MiB)")
                        return .tooLarge(bytes)
                    }
                }
                if request.isSettled { return .settled }
            }
        } catch {
            if request.isSettled || isClosing || Task.isCancelled { return .settled }
        }
        if request.isSettled || isClosing { return .settled }
        return .ended(lastEventId: parser.lastEventId ?? lastEventId, retryMs: parser.retryMilliseconds)
    }

    /// After the response, servers end the stream; reading to that end lets the connection be
    /// reused. A server that keeps it open gets 2 s (the request's task is then cancelled, which
    /// closes that connection). The initialize request is not held up by this.
    private func drainAfterAnswer(_ body: inout HTTPClientResponse.Body.AsyncIterator, _ request: InflightRequest) async {
        guard !request.isInitialize, let task = request.task.withLock({ $0 }) else { return }
        let timer = Task {
            try? await Task.sleep(for: .seconds(2))
            if !Task.isCancelled { task.cancel() }
        }
        var seen = 0
        do {
            while let buffer = try await body.next() {
                seen += buffer.readableBytes
                if seen > 1 << 20 { break }
            }
        } catch {}
        timer.cancel()
    }

    /// Delivers one message from `request`'s answer; true when it is the response to `request`.
    func deliver(_ message: [UInt8], for request: InflightRequest) -> Bool {
        let info = JSONRPCMessage(message)
        switch info.kind {
        case .response:
            let mine = info.idKey == request.key
            if mine, request.isInitialize {
                noteInitialized(JSONRPCMessage.protocolVersion(ofInitializeResponse: message))
            }
            let delivered = sink.message(message, unless: {
                request.settled.withLock { settled in
                    if settled { return true }
                    if mine { settled = true }
                    return false
                }
            })
            return mine && delivered
        case .request, .notification:
            sink.message(message, relatedTo: request.id, unless: { request.isSettled })
            return false
        case .invalid:
            log(MCPH_LOG_WARNING, "backend '\(config.name)': dropped a message that is not a JSON-RPC object")
            return false
        }
    }

    /// The initialize response passed through: remember the protocol version for the headers.
    private func noteInitialized(_ version: String?) {
        // It goes into a header: only a short, visible ASCII text is kept.
        let version = version.flatMap { $0.utf8.count <= 64 && $0.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) ? $0 : nil }
        let session = state.withLock { s -> String? in
            if let version { s.protocolVersion = version }
            return s.sessionId
        }
        // The session id works like a credential for the server's session: debug level only.
        log(MCPH_LOG_INFO, "connected to backend '\(config.name)' at \(config.shownURL) (streamable HTTP"
            + (version.map { ", protocol \($0)" } ?? "") + ")")
        if let session { log(MCPH_LOG_DEBUG, "backend '\(config.name)' session \(session)") }
    }
}
