import Hummingbird
import HTTPTypes
import NIOCore

extension HTTPField.Name {
    static let mcpSessionID = HTTPField.Name("Mcp-Session-Id")!
    static let mcpProtocolVersion = HTTPField.Name("MCP-Protocol-Version")!
}

/// Routes HTTP requests: `/mcp` (Streamable HTTP), `/sse` and `/messages` (legacy HTTP+SSE),
/// `/health`, `/metrics`. What is checked before a request reaches a session or the core (Origin,
/// bearer token, headers, body) is decided by `RequestValidation`, a pure function.
struct MCPResponder: HTTPResponder {
    typealias Context = MCPRequestContext
    let frontEnd: HTTPFrontEnd

    var store: SessionStore { frontEnd.store }
    var core: HostCore { frontEnd.core }
    var options: HTTPOptions { frontEnd.options }

    func respond(to request: Request, context: MCPRequestContext) async throws -> Response {
        let started = MonotonicClock.nanoseconds()
        let headers = request.headers.map { ($0.name.canonicalName, $0.value) }
        let policy = frontEnd.validationPolicy
        let route: HTTPRoute
        var body: [UInt8] = []
        switch RequestValidation.validateHead(method: request.method.rawValue, target: request.uri.string, headers: headers, policy: policy) {
        case .reject(let rejection): return refuse(rejection)
        case .route(let head): route = head
        case .needsBody(let pending):
            guard let bytes = try await collectBody(of: request) else {
                return plain(.contentTooLarge, "Content Too Large: the body exceeds \(options.maxBodyBytes) bytes (--max-body-bytes)")
            }
            body = bytes
            switch RequestValidation.validateBody(pending, body: bytes, policy: policy) {
            case .reject(let rejection): return refuse(rejection)
            case .accept(let full): route = full
            }
        }
        // Who the token authenticates; a session is used only by the identity that opened it.
        let caller = frontEnd.caller(authorization: request.headers[.authorization])
        switch route {
        case .streamablePost(let envelope, let session, _, let acceptsJSON, let acceptsSSE):
            return await streamablePost(envelope, session: session, caller: caller, acceptsJSON: acceptsJSON, acceptsSSE: acceptsSSE, started: started)
        case .streamableGet(let session): return streamableGet(session, caller: caller, context)
        case .streamableDelete(let session): return streamableDelete(session, caller: caller)
        case .legacyOpen: return legacyOpen(caller: caller, context)
        case .legacyPost(let session): return legacyPost(body, session: session, caller: caller)
        case .health: return json(.ok, frontEnd.metrics.health(core: core, sessions: store.count))
        case .metrics:
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: frontEnd.metrics.render(core: core, sessions: store))))
        }
    }

    /// The response for a request the validation refused.
    private func refuse(_ rejection: HTTPRejection) -> Response {
        let status = HTTPResponse.Status(code: rejection.status)
        var response = rejection.jsonRPCCode.map {
            json(status, JSONRPC.error(id: rejection.jsonRPCID, code: $0, message: rejection.message))
        } ?? plain(status, rejection.message)
        if let allow = rejection.allow { response.headers[.allow] = allow }
        if rejection.challenge { response.headers[.wwwAuthenticate] = #"Bearer realm="mcp-host""# }
        return response
    }

    // MARK: - Streamable HTTP

    /// The session `id` when it exists, is of `kind` and belongs to `caller` (a session opened with
    /// another token's identity is not found: its id gives no one else its view).
    private func session(_ id: String, _ kind: HTTPSession.Kind?, caller: Caller) -> HTTPSession? {
        guard let session = store.session(id), kind == nil || session.kind == kind, session.client.caller == caller else { return nil }
        return session
    }

    private func streamablePost(_ envelope: Envelope, session id: String?, caller: Caller, acceptsJSON: Bool, acceptsSSE: Bool,
                                started: UInt64) async -> Response {
        let bytes = envelope.bytes
        guard let id else { // initialize (the validation lets only it through without a session)
            guard let session = store.create(kind: .streamable, caller: caller) else { return tooManySessions() }
            var response = await answer(envelope, bytes, in: session, acceptsJSON: acceptsJSON, acceptsSSE: acceptsSSE, started: started)
            response.headers[.mcpSessionID] = session.id
            return response
        }
        guard let session = session(id, .streamable, caller: caller) else {
            return json(.notFound, JSONRPC.error(id: envelope.idBytes, code: JSONRPCErrorCode.invalidRequest,
                                                 message: "Session not found (expired or ended): initialize again"))
        }
        session.touch()
        switch envelope.kind {
        case .request:
            return await answer(envelope, bytes, in: session, acceptsJSON: acceptsJSON, acceptsSSE: acceptsSSE, started: started)
        case .notification, .response:
            if envelope.method == "notifications/cancelled", let requestID = envelope.param("requestId") {
                core.receive(envelope, from: session.client)
                session.cancelExchange(id: Array(envelope.bytes[requestID.value]))
            } else {
                core.receive(envelope, from: session.client)
            }
            return Response(status: .accepted)
        }
    }

    /// Hands a request to the core and answers with its response: as JSON, or as an SSE stream
    /// when the client accepts one and asked for progress (or accepts only SSE).
    private func answer(_ envelope: Envelope, _ bytes: [UInt8], in session: HTTPSession, acceptsJSON: Bool, acceptsSSE: Bool,
                        started: UInt64) async -> Response {
        let token = envelope.param("_meta", "progressToken").map { Array(envelope.bytes[$0.value]) }
        let streaming = acceptsSSE && (token != nil || !acceptsJSON)
        let exchange = PostExchange(streaming: streaming, progressToken: token)
        let method = envelope.method ?? ""
        let id = envelope.idBytes ?? JSONRPC.null
        guard session.register(exchange, id: id) else {
            // The first request keeps its answer path; this one is answered at once.
            let error = JSONRPC.error(id: id, code: JSONRPCErrorCode.invalidRequest,
                                      message: "id \(String(decoding: id, as: UTF8.self)) is already in use by a request in flight in this session; give each request a new id")
            frontEnd.metrics.recordRequest(method: method, response: error, started: started)
            return json(.ok, error)
        }
        core.receive(envelope, from: session.client)
        if streaming {
            let metrics = frontEnd.metrics
            return sse(headers: [:], queue: exchange.queue, prelude: nil, channel: nil) { last in
                session.exchangeStreamEnded(exchange)
                metrics.recordRequest(method: method, response: last, started: started)
            }
        }
        guard let message = await exchange.queue.next() else {
            return Response(status: .noContent) // cancelled by the client, or the session ended
        }
        frontEnd.metrics.recordRequest(method: method, response: message, started: started)
        return json(.ok, message)
    }

    private func streamableGet(_ id: String, caller: Caller, _ context: MCPRequestContext) -> Response {
        guard let session = session(id, .streamable, caller: caller) else { return plain(.notFound, "Session not found: initialize again") }
        guard session.openStream(.init(channel: context.channel)) else {
            return plain(.conflict, "Conflict: this session already has an open event stream")
        }
        session.touch()
        return sse(headers: [.mcpSessionID: session.id], queue: session.queue, prelude: nil, channel: context.channel) { _ in
            session.streamEnded()
            session.touch()
        }
    }

    private func streamableDelete(_ id: String, caller: Caller) -> Response {
        guard let session = session(id, nil, caller: caller) else { return plain(.notFound, "Session not found") }
        store.end(session, reason: "DELETE by the client")
        return Response(status: .ok)
    }

    // MARK: - Legacy HTTP+SSE (2024-11-05)

    private func legacyOpen(caller: Caller, _ context: MCPRequestContext) -> Response {
        guard let session = store.create(kind: .legacy, caller: caller) else { return tooManySessions() }
        _ = session.openStream(.init(channel: context.channel))
        let endpoint = Array("event: endpoint\ndata: /messages?session_id=\(session.id)\n\n".utf8)
        return sse(headers: [:], queue: session.queue, prelude: endpoint, channel: context.channel) { [store] _ in
            store.end(session, reason: "its event stream closed")
        }
    }

    private func legacyPost(_ bytes: [UInt8], session id: String, caller: Caller) -> Response {
        guard let session = session(id, .legacy, caller: caller) else { return plain(.notFound, "Session not found") }
        session.touch()
        core.receive(bytes, from: session.client) // answers, errors included, arrive on the stream
        return plain(.accepted, "Accepted")
    }

    // MARK: - Helpers

    private func collectBody(of request: Request) async throws -> [UInt8]? {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: options.maxBodyBytes)
            return Array(buffer: buffer)
        } catch is NIOTooManyBytesError {
            return nil
        }
    }

    /// An SSE response draining `queue`; `onEnd` gets the last message written.
    private func sse(headers: HTTPFields, queue: MessageQueue, prelude: [UInt8]?, channel: (any Channel)?,
                     onEnd: @escaping @Sendable ([UInt8]?) -> Void) -> Response {
        var fields = headers
        fields[.contentType] = "text/event-stream"
        fields[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: fields, body: ResponseBody { writer in
            var last: [UInt8]?
            do {
                if let prelude { try await writer.write(ByteBuffer(bytes: prelude)) }
                while let message = await queue.next() {
                    try await writer.write(ByteBuffer(bytes: SSE.event(message)))
                    if !message.isEmpty { last = message }
                }
                try await writer.finish(nil)
            } catch {
                onEnd(last)
                throw error
            }
            onEnd(last)
        })
    }

    private func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    private func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private func tooManySessions() -> Response {
        var response = plain(.serviceUnavailable, "Service Unavailable: \(options.maxSessions) sessions are open; try again later")
        response.headers[.retryAfter] = "5"
        return response
    }

    private func notAllowed(_ allow: String) -> Response {
        var response = plain(.methodNotAllowed, "Method Not Allowed (allowed: \(allow))")
        response.headers[.allow] = allow
        return response
    }
}

/// Server-sent events framing.
enum SSE {
    /// `event: message` with the JSON as data; an empty message is a keep-alive comment.
    static func event(_ message: [UInt8]) -> [UInt8] {
        if message.isEmpty { return Array(": ping\n\n".utf8) }
        var out = Array("event: message\ndata: ".utf8)
        out.reserveCapacity(out.count + message.count + 2)
        // JSON may contain line breaks only as whitespace between tokens: fold them into spaces
        // so the message stays one `data:` line.
        for b in message { out.append(b == 0x0A || b == 0x0D ? 0x20 : b) }
        out.append(contentsOf: [0x0A, 0x0A])
        return out
    }
}
