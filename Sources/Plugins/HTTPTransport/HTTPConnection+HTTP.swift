import AsyncHTTPClient
import HTTPTransportCore
import NIOCore
import NIOHTTP1
import PluginAPI

/// Building requests and reading answers.
extension HTTPConnection {
    /// The session headers of the moment: `Mcp-Session-Id` once known, `MCP-Protocol-Version` once negotiated.
    struct Session: Equatable {
        var id: String?
        var protocolVersion: String?
    }

    var currentSession: Session {
        state.withLock { Session(id: $0.sessionId, protocolVersion: $0.protocolVersion) }
    }

    /// A request with the configured headers, the session headers and `extra`.
    func request(_ method: HTTPMethod, _ url: RemoteURL, body: [UInt8]? = nil, accept: String?,
                 session: Session?, lastEventId: String? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url.requestURL)
        request.method = method
        for header in config.headers { request.headers.add(name: header.name, value: header.value) }
        if let basicAuthorization { request.headers.add(name: "Authorization", value: basicAuthorization) }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        if let id = session?.id { request.headers.add(name: "Mcp-Session-Id", value: id) }
        if let version = session?.protocolVersion { request.headers.add(name: "MCP-Protocol-Version", value: version) }
        if let lastEventId { request.headers.add(name: "Last-Event-ID", value: lastEventId) }
        return request
    }

    static let postAccept = "application/json, text/event-stream"
    static let streamAccept = "text/event-stream"

    /// Which pool a request goes through (see `HTTPConnection.client` and `controlClient`).
    enum Lane { case request, control }

    /// Sends `request`; the deadline covers the wait for the response head only.
    ///
    /// On the request lane, a request that found every connection busy (AsyncHTTPClient gives up
    /// waiting for one after connect_timeout) waits again: calls beyond `max_connections` queue
    /// until a connection frees up or their task is cancelled (the host cancelled them, or the
    /// connection closes), rather than fail with a made-up "cannot reach" error. Nothing was sent.
    func execute(_ request: HTTPClientRequest, on lane: Lane = .request, deadline: NIODeadline = .distantFuture) async throws -> HTTPClientResponse {
        switch lane {
        case .control:
            return try await controlClient.execute(request, deadline: deadline)
        case .request:
            while true {
                do {
                    return try await client.execute(request, deadline: deadline)
                } catch let error as HTTPClientError where error == .getConnectionFromPoolTimeout {
                    if Task.isCancelled || isClosing || NIODeadline.now() >= deadline { throw error }
                }
            }
        }
    }

    /// How long a notification, an answer to the server's request or a legacy POST may wait for
    /// its response head (a 202 comes at once): a server that stopped answering must not hold up
    /// the dispatcher, and every message queued behind it, for ever.
    var oneWayDeadline: NIODeadline {
        .now() + .milliseconds(Int64(Self.reinitializeLimitMs(connectTimeout: config.connectTimeoutSeconds)))
    }

    enum BodyKind { case json, eventStream, other }

    static func bodyKind(_ response: HTTPClientResponse) -> BodyKind {
        let type = (response.headers.first(name: "Content-Type") ?? "").lowercased()
        if type.hasPrefix("text/event-stream") { return .eventStream }
        if type.hasPrefix("application/json") || type.contains("+json") { return .json }
        return .other
    }

    /// The whole body, or nil when it is larger than `limit` (the rest is not read).
    static func collect(_ response: HTTPClientResponse, limit: Int) async throws -> [UInt8]? {
        var bytes: [UInt8] = []
        for try await buffer in response.body {
            guard buffer.readableBytes <= limit - bytes.count else { return nil }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        return bytes
    }

    /// Up to `limit` bytes of the body, for error excerpts (the rest is not read).
    static func excerptBytes(_ response: HTTPClientResponse, limit: Int = 1024) async -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            for try await buffer in response.body {
                bytes.append(contentsOf: buffer.readableBytesView.prefix(limit - bytes.count))
                if bytes.count >= limit { break }
            }
        } catch {}
        return bytes
    }

    /// Reads a body to its end and drops it (so the connection can be reused), at most 1 MiB.
    static func drain(_ response: HTTPClientResponse) async {
        var seen = 0
        do {
            for try await buffer in response.body {
                seen += buffer.readableBytes
                if seen > 1 << 20 { break }
            }
        } catch {}
    }

    /// The error text for an HTTP status answered to `method`, with a short excerpt of the body.
    func statusText(_ response: HTTPClientResponse) async -> String {
        let body = await Self.excerptBytes(response)
        let sentAuthorization = basicAuthorization != nil || config.headers.contains { $0.name.lowercased() == "authorization" }
        return ErrorText.httpStatus(backend: config.name, status: Int(clamping: response.status.code), reason: response.status.reasonPhrase,
                                    contentType: response.headers.first(name: "Content-Type"), body: body,
                                    wwwAuthenticate: response.headers["WWW-Authenticate"], sentAuthorization: sentAuthorization,
                                    location: response.headers.first(name: "Location"), secrets: secrets)
    }

    /// A short reason for a failed connection or request, without URLs or header values.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "timed out connecting (connect_timeout)"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .tlsHandshakeTimeout: return "the TLS handshake timed out"
            case .httpProxyHandshakeTimeout: return "the proxy did not answer in time"
            case .proxyAuthenticationRequired: return "the proxy requires authentication"
            case .invalidProxyResponse: return "the proxy refused the connection"
            case .deadlineExceeded: return "timed out"
            case .readTimeout: return "timed out reading"
            case .cancelled: return "cancelled"
            default: return "HTTP client error (\(error))"
            }
        }
        let text = String(describing: error)
        let lower = text.lowercased()
        if lower.contains("connection refused") || lower.contains("econnrefused") { return "connection refused" }
        if lower.contains("nodename nor servname") || lower.contains("name or service not known") || lower.contains("dns")
            || lower.contains("temporary failure in name resolution") || lower.contains("no address") {
            return "the host name could not be resolved"
        }
        if lower.contains("ssl") || lower.contains("tls") || lower.contains("certificate") || lower.contains("handshake") {
            return "TLS failed (\(ErrorTextShort.cut(text, 160)))"
        }
        if lower.contains("connection reset") || lower.contains("econnreset") { return "the connection was reset" }
        if lower.contains("network is unreachable") || lower.contains("no route to host") { return "the network is unreachable" }
        return ErrorTextShort.cut(text, 200)
    }
}

/// Cutting free text for messages.
enum ErrorTextShort {
    static func cut(_ text: String, _ limit: Int) -> String {
        var out = ""
        for character in text {
            let c: Character = character.isNewline ? " " : character
            if out.utf8.count + String(c).utf8.count > limit { return out + "…" }
            out.append(c)
        }
        return out
    }
}
