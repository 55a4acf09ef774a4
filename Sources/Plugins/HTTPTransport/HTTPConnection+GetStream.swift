import AsyncHTTPClient
import HTTPTransportCore
import NIOCore
import PluginAPI

/// The GET stream of Streamable HTTP: what the server sends on its own (list changes, log
/// messages, requests outside any call). Opened once the host's `notifications/initialized` was
/// accepted; 405 (or another 4xx but 404) means the server offers none. Reconnected when it drops,
/// with `Last-Event-ID` when the server gave ids, after its `retry` (doubling up to 30 s), until close.
extension HTTPConnection {
    /// (Re)starts the GET stream, ending the previous one.
    func startGetStream() {
        let previous: Task<Void, Never>? = state.withLock { s in
            guard !s.closing, case .streamable = s.mode else { return nil }
            s.getStreamGeneration += 1
            let generation = s.getStreamGeneration
            let old = s.getStream
            s.getStream = tracker.spawn { [self] in await runGetStream(generation: generation) }
            return old
        }
        previous?.cancel()
    }

    /// Ends the GET stream (a lost session, close).
    func stopGetStream() {
        let task: Task<Void, Never>? = state.withLock { s in
            s.getStreamGeneration += 1
            let task = s.getStream
            s.getStream = nil
            return task
        }
        task?.cancel()
    }

    private func isCurrentGetStream(_ generation: Int) -> Bool {
        state.withLock { !$0.closing && $0.getStreamGeneration == generation }
    }

    private func runGetStream(generation: Int) async {
        var lastEventId: String?
        var retryMs: Int?
        var failures = 0
        var connectedOnce = false
        while isCurrentGetStream(generation), !Task.isCancelled {
            let session = currentSession
            let response: HTTPClientResponse
            do {
                response = try await execute(request(.GET, config.url, accept: Self.streamAccept, session: session, lastEventId: lastEventId),
                                             on: .control)
            } catch {
                if Task.isCancelled || !isCurrentGetStream(generation) { return }
                log(MCPH_LOG_DEBUG, "backend '\(config.name)': GET stream could not connect: \(Self.describe(error))")
                failures += 1
                await pause(failures: failures, retryMs: retryMs)
                continue
            }
            let status = Int(clamping: response.status.code)
            if status == 404, let lost = session.id {
                await Self.drain(response)
                if connectedOnce {
                    // The stream worked on this session before: the server lost it.
                    tracker.spawn { [self] in _ = await reinitialize(lost: lost) }
                } else {
                    log(MCPH_LOG_DEBUG, "backend '\(config.name)': GET stream answered HTTP 404; the server offers none")
                }
                return
            }
            if (400..<500).contains(status) {
                await Self.drain(response)
                log(MCPH_LOG_DEBUG, "backend '\(config.name)': no GET stream (HTTP \(status)); the server sends only on request streams")
                return
            }
            guard status == 200, Self.bodyKind(response) == .eventStream else {
                await Self.drain(response)
                log(MCPH_LOG_DEBUG, "backend '\(config.name)': GET stream answered HTTP \(status) \(Self.bodyKind(response) == .eventStream ? "" : "(not an event stream)"); retrying")
                failures += 1
                await pause(failures: failures, retryMs: retryMs)
                continue
            }
            log(MCPH_LOG_DEBUG, "backend '\(config.name)': GET stream open")
            connectedOnce = true
            var parser = SSEParser(maxEventBytes: Self.maxMessageBytes)
            var received = false
            do {
                for try await buffer in response.body {
                    for output in parser.feed(buffer.readableBytesView) {
                        switch output {
                        case .event(let event):
                            guard event.type == "message", !event.data.isEmpty else { continue }
                            received = true
                            deliverUnrelated(event.data)
                        case .oversized(let bytes):
                            log(MCPH_LOG_ERROR, "backend '\(config.name)': dropped an SSE event of \(bytes)+ bytes on the GET stream (limit \(Self.maxMessageBytes >> 20) MiB)")
                        }
                    }
                }
            } catch {
                if Task.isCancelled || !isCurrentGetStream(generation) { return }
            }
            if let id = parser.lastEventId { lastEventId = id }
            if let retry = parser.retryMilliseconds { retryMs = retry }
            if !isCurrentGetStream(generation) || Task.isCancelled { return }
            failures = received ? 0 : failures + 1
            log(MCPH_LOG_DEBUG, "backend '\(config.name)': GET stream ended; reconnecting")
            await pause(failures: failures, retryMs: retryMs)
        }
    }

    private func pause(failures: Int, retryMs: Int?) async {
        // At least 100 ms: a server that sends "retry: 0" and ends every stream after an event
        // would otherwise be reconnected to in a tight loop for as long as the connection lives.
        let delay = max(100, Backoff.delayMs(attempt: max(0, failures - 1), retryMs: retryMs, capMs: Self.getStreamBackoffCapMs))
        try? await Task.sleep(for: .milliseconds(delay))
    }

    /// A message that belongs to no request of the host: `on_message`.
    func deliverUnrelated(_ message: [UInt8]) {
        switch JSONRPCMessage(message).kind {
        case .invalid:
            log(MCPH_LOG_WARNING, "backend '\(config.name)': dropped a message that is not a JSON-RPC object")
        default:
            sink.message(message)
        }
    }
}
