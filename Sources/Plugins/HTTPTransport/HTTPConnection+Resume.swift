import AsyncHTTPClient
import HTTPTransportCore
import NIOCore
import PluginAPI

/// Resuming a request's answer stream that broke before the response (the server gave event ids):
/// GET the URL with `Last-Event-ID` after the server's `retry` (1 s by default, doubling, capped),
/// a few attempts, delivering from the new stream until the response arrives.
///
/// Only on the session the request was sent on: once that session is known to be lost (a 404
/// for it, or a re-initialization made another one meanwhile), the request is lost with it.
extension HTTPConnection {
    func resume(_ request: InflightRequest, on session: Session, lastEventId: String, retryMs: Int?) async -> AnswerOutcome {
        var lastEventId = lastEventId
        var retryMs = retryMs
        var failures = 0
        while failures < Self.resumeAttempts {
            if currentSession.id != session.id { return .noAnswer(ErrorText.lostWithSession(backend: config.name)) }
            let delay = Backoff.delayMs(attempt: failures, retryMs: retryMs, capMs: Self.resumeBackoffCapMs)
            try? await Task.sleep(for: .milliseconds(delay))
            if request.isSettled || isClosing || Task.isCancelled { return .settled }
            if currentSession.id != session.id { return .noAnswer(ErrorText.lostWithSession(backend: config.name)) }
            let response: HTTPClientResponse
            do {
                response = try await execute(self.request(.GET, config.url, accept: Self.streamAccept, session: session, lastEventId: lastEventId))
            } catch {
                if request.isSettled || isClosing || Task.isCancelled { return .settled }
                log(MCPH_LOG_DEBUG, "backend '\(config.name)': resuming an answer stream failed: \(Self.describe(error))")
                failures += 1
                continue
            }
            let status = Int(clamping: response.status.code)
            if status == 404, session.id != nil {
                await Self.drain(response)
                // Resumed on a session the server no longer knows: the request is lost with it.
                return .noAnswer(ErrorText.lostWithSession(backend: config.name))
            }
            guard status == 200, Self.bodyKind(response) == .eventStream else {
                let text = await statusText(response)
                log(MCPH_LOG_DEBUG, "backend '\(config.name)': resuming an answer stream: \(text)")
                return .ended(lastEventId: nil, retryMs: nil)
            }
            log(MCPH_LOG_DEBUG, "backend '\(config.name)': resumed an answer stream after event \(ErrorTextShort.cut(lastEventId, 80))")
            let outcome = await readAnswer(response, for: request, lastEventId: lastEventId)
            guard case .ended(let newLastId, let newRetry) = outcome else { return outcome }
            if let newLastId, newLastId != lastEventId {
                failures = 0 // progress: start counting again
                lastEventId = newLastId
            } else {
                failures += 1
            }
            if let newRetry { retryMs = newRetry }
        }
        return .ended(lastEventId: nil, retryMs: nil)
    }
}
