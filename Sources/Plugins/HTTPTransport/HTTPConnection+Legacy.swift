import AsyncHTTPClient
import HTTPTransportCore
import NIOCore
import PluginAPI

/// Legacy HTTP+SSE (protocol 2024-11-05): GET the URL, wait for the `endpoint` event (a URL
/// relative to the stream's, of the same origin), POST every message there; everything from the
/// server arrives on that one stream (no correlation with requests is possible). If the stream
/// drops, the connection fails (the host starts the backend again on next use).
extension HTTPConnection {
    struct LegacyProblem: Error {
        let text: String
    }

    /// Opens the stream and waits (at most connect_timeout) for its endpoint.
    func openLegacyStream() async -> Result<RemoteURL, LegacyProblem> {
        let endpoint = OneShot<Result<RemoteURL, LegacyProblem>>()
        let stream = tracker.spawn { [self] in await runLegacyStream(endpoint) }
        state.withLock { $0.getStream = stream }
        let timeoutMs = Int(min(max(config.connectTimeoutSeconds, 0.001), 3600) * 1000)
        let timer = tracker.spawn { [self] in
            try? await Task.sleep(for: .milliseconds(max(1, timeoutMs)))
            if Task.isCancelled { return }
            endpoint.fulfil(.failure(LegacyProblem(text: "mcp-host: backend '\(config.name)': the SSE stream at \(config.shownURL) named no endpoint within connect_timeout (\(DurationLabel.text(config.connectTimeoutSeconds)))")))
        }
        let result = await endpoint.value
        timer.cancel()
        if case .failure = result { stream.cancel() }
        return result
    }

    private func runLegacyStream(_ endpoint: OneShot<Result<RemoteURL, LegacyProblem>>) async {
        // Whatever way this ends, the opener stops waiting.
        defer { endpoint.fulfil(.failure(LegacyProblem(text: "mcp-host: backend '\(config.name)': the connection closed while opening the SSE stream"))) }
        let response: HTTPClientResponse
        do {
            response = try await execute(request(.GET, config.url, accept: Self.streamAccept, session: nil), on: .control)
        } catch {
            endpoint.fulfil(.failure(LegacyProblem(text: ErrorText.unreachable(backend: config.name, url: config.url, reason: Self.describe(error), secrets: secrets))))
            return
        }
        guard response.status.code == 200, Self.bodyKind(response) == .eventStream else {
            let text = response.status.code == 200
                ? "mcp-host: backend '\(config.name)' answered the SSE GET with '\(ErrorTextShort.cut(response.headers.first(name: "Content-Type") ?? "no content type", 60))', not an event stream"
                : await statusText(response)
            endpoint.fulfil(.failure(LegacyProblem(text: text)))
            return
        }
        var parser = SSEParser(maxEventBytes: Self.maxMessageBytes)
        var established = false
        do {
            for try await buffer in response.body {
                for output in parser.feed(buffer.readableBytesView) {
                    switch output {
                    case .event(let event) where event.type == "endpoint":
                        guard !established else { continue }
                        switch config.url.resolvingEndpoint(String(decoding: event.data, as: UTF8.self)) {
                        case .success(let url):
                            if endpoint.fulfil(.success(url)) {
                                established = true
                                state.withLock { $0.mode = .legacy(endpoint: url) }
                            } else {
                                return // gave up waiting already
                            }
                        case .failure(let problem):
                            endpoint.fulfil(.failure(LegacyProblem(text: "mcp-host: backend '\(config.name)': \(problem.description)")))
                            return
                        }
                    case .event(let event):
                        guard event.type == "message", !event.data.isEmpty else { continue }
                        // Nothing may reach the host before the connection is open (the endpoint is known).
                        guard established else {
                            log(MCPH_LOG_WARNING, "backend '\(config.name)': dropped a message sent before the endpoint event")
                            continue
                        }
                        deliverUnrelated(event.data)
                    case .oversized(let bytes):
                        log(MCPH_LOG_ERROR, "backend '\(config.name)': dropped an SSE event of \(bytes)+ bytes (limit \(Self.maxMessageBytes >> 20) MiB)")
                    }
                }
            }
        } catch {
            if Task.isCancelled || isClosing { return }
        }
        if Task.isCancelled || isClosing { return }
        if !established {
            endpoint.fulfil(.failure(LegacyProblem(text: "mcp-host: backend '\(config.name)': the SSE stream ended before naming its endpoint")))
            return
        }
        fail("the SSE stream (legacy HTTP+SSE) ended")
    }

    /// POSTs one message to the endpoint and waits for its 2xx (answers come on the stream).
    func dispatchLegacy(_ message: [UInt8], endpoint: RemoteURL) async {
        let info = JSONRPCMessage(message)
        guard info.kind != .invalid else {
            log(MCPH_LOG_WARNING, "backend '\(config.name)': dropped a message from the host that is not a JSON-RPC object")
            return
        }
        let what = info.method ?? "a response"
        let failure: String
        do {
            let response = try await execute(request(.POST, endpoint, body: message, accept: "application/json, text/event-stream", session: nil),
                                             on: .control, deadline: oneWayDeadline)
            if (200..<300).contains(Int(clamping: response.status.code)) {
                await Self.drain(response)
                return
            }
            failure = await statusText(response)
        } catch {
            if isClosing || Task.isCancelled { return }
            failure = ErrorText.unreachable(backend: config.name, url: endpoint, reason: Self.describe(error), secrets: secrets)
        }
        if info.kind == .request, let id = info.id {
            sink.message(JSONRPCMessage.errorResponse(id: id, code: ErrorText.code, message: failure))
            if info.method == "initialize" { fail(failure) }
        } else {
            log(MCPH_LOG_WARNING, "backend '\(config.name)': sending \(what) failed: \(failure)")
        }
    }

    /// The initialize POST was refused the way old servers refuse it (400, 404, 405): try legacy.
    func fallBackToLegacy(_ message: [UInt8], _ request: InflightRequest, refusal: String) async {
        log(MCPH_LOG_INFO, "backend '\(config.name)' refused the Streamable HTTP initialize (\(refusal)); trying the legacy HTTP+SSE transport")
        switch await openLegacyStream() {
        case .success(let endpoint):
            log(MCPH_LOG_INFO, "backend '\(config.name)' speaks the legacy HTTP+SSE transport")
            forget(request)
            await dispatchLegacy(message, endpoint: endpoint)
        case .failure(let problem):
            fail(request, refusal + "; nor does it offer a legacy HTTP+SSE stream (\(problem.text))")
        }
    }
}

/// Seconds as a short duration label ("10s", "500ms").
enum DurationLabel {
    static func text(_ seconds: Double) -> String {
        if seconds >= 1, seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(Int((seconds * 1000).rounded()))ms"
    }
}
