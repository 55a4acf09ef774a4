import Hummingbird
import HTTPTypes
import NIOCore

extension HTTPField.Name {
    static let mcpSessionID = HTTPField.Name("Mcp-Session-Id")!
    static let mcpProtocolVersion = HTTPField.Name("MCP-Protocol-Version")!
}

/// Routes HTTP requests: `/mcp` (Streamable HTTP), `/sse` and `/messages` (legacy HTTP+SSE),
/// `/health`, `/metrics`. Every path checks `Origin` (403) and, when configured, the bearer token (401).
struct MCPResponder: HTTPResponder {
    typealias Context = MCPRequestContext
    let frontEnd: HTTPFrontEnd

    var store: SessionStore { frontEnd.store }
    var core: HostCore { frontEnd.core }
    var options: HTTPOptions { frontEnd.options }

    func respond(to request: Request, context: MCPRequestContext) async throws -> Response {
        if let origin = request.headers[.origin], !frontEnd.security.allows(origin: origin) {
            return plain(.forbidden, "Forbidden: Origin '\(origin)' is not allowed (allow it with --allow-origin)")
        }
        guard frontEnd.security.authorized(request.headers[.authorization]) else {
            var response = plain(.unauthorized, "Unauthorized: a valid bearer token is required")
            response.headers[.wwwAuthenticate] = #"Bearer realm="mcp-host""#
            return response
        }
        switch (request.uri.path, request.method) {
        case ("/mcp", .post): return try await streamablePost(request, context)
        case ("/mcp", .get): return streamableGet(request, context)
        case ("/mcp", .delete): return streamableDelete(request)
        case ("/mcp", _): return notAllowed("GET, POST, DELETE")
        case ("/sse", .get): return legacyOpen(context)
        case ("/sse", _): return notAllowed("GET")
        case ("/messages", .post), ("/messages/", .post): return try await legacyPost(request)
        case ("/messages", _), ("/messages/", _): return notAllowed("POST")
        case ("/health", .get): return json(.ok, frontEnd.metrics.health(core: core, sessions: store.count))
        case ("/metrics", .get):
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: frontEnd.metrics.render(core: core, sessions: store))))
        default: return plain(.notFound, "Not Found: MCP is served at /mcp (Streamable HTTP) and /sse (HTTP+SSE)")
        }
    }

    // MARK: - Streamable HTTP

    private func streamablePost(_ request: Request, _ context: MCPRequestContext) async throws -> Response {
        let started = MonotonicClock.nanoseconds()
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            return plain(.unsupportedMediaType, "Unsupported Media Type: POST a JSON-RPC message as application/json")
        }
        guard let bytes = try await body(of: request) else {
            return plain(.contentTooLarge, "Content Too Large: the body exceeds \(options.maxBodyBytes) bytes")
        }
        let envelope: Envelope
        do {
            envelope = try Envelope.parse(bytes)
        } catch {
            return json(.badRequest, JSONRPC.error(id: error.id, code: error.code, message: error.message))
        }
        let accept = request.headers[.accept] ?? "*/*"
        if envelope.kind == .request, envelope.method == "initialize" {
            guard let session = store.create(kind: .streamable) else { return tooManySessions() }
            var response = await answer(envelope, bytes, in: session, accept: accept, started: started)
            response.headers[.mcpSessionID] = session.id
            return response
        }
        guard let id = request.headers[.mcpSessionID] else {
            return json(.badRequest, JSONRPC.error(id: envelope.idBytes, code: JSONRPCErrorCode.invalidRequest,
                                                   message: "Bad Request: Mcp-Session-Id header is required after initialize"))
        }
        guard let session = store.session(id), session.kind == .streamable else {
            return json(.notFound, JSONRPC.error(id: envelope.idBytes, code: JSONRPCErrorCode.invalidRequest,
                                                 message: "Session not found (expired or ended): initialize again"))
        }
        if let version = request.headers[.mcpProtocolVersion], !ProtocolVersions.supported.contains(version) {
            return json(.badRequest, JSONRPC.error(id: envelope.idBytes, code: JSONRPCErrorCode.invalidRequest,
                                                   message: "Bad Request: unsupported MCP-Protocol-Version '\(version)' (supported: \(ProtocolVersions.supported.joined(separator: ", ")))"))
        }
        session.touch()
        switch envelope.kind {
        case .request:
            return await answer(envelope, bytes, in: session, accept: accept, started: started)
        case .notification, .response:
            if envelope.method == "notifications/cancelled", let requestID = envelope.param("requestId") {
                core.receive(bytes, from: session.client)
                session.cancelExchange(id: Array(envelope.bytes[requestID.value]))
            } else {
                core.receive(bytes, from: session.client)
            }
            return Response(status: .accepted)
        }
    }

    /// Hands a request to the core and answers with its response: as JSON, or as an SSE stream
    /// when the client accepts one and asked for progress (or accepts only SSE).
    private func answer(_ envelope: Envelope, _ bytes: [UInt8], in session: HTTPSession, accept: String, started: UInt64) async -> Response {
        let token = envelope.param("_meta", "progressToken").map { Array(envelope.bytes[$0.value]) }
        let acceptsSSE = accept.contains("text/event-stream")
        let acceptsJSON = accept.contains("application/json") || accept.contains("*/*")
        let streaming = acceptsSSE && (token != nil || !acceptsJSON)
        let exchange = PostExchange(progressToken: streaming ? token : nil)
        session.register(exchange, id: envelope.idBytes ?? [])
        core.receive(bytes, from: session.client)
        let method = envelope.method ?? ""
        if streaming {
            let metrics = frontEnd.metrics
            return sse(headers: [:], queue: exchange.queue, prelude: nil, channel: nil) { last in
                metrics.recordRequest(method: method, response: last, started: started)
            }
        }
        guard let message = await exchange.queue.next() else {
            return Response(status: .noContent) // cancelled by the client, or the session ended
        }
        frontEnd.metrics.recordRequest(method: method, response: message, started: started)
        return json(.ok, message)
    }

    private func streamableGet(_ request: Request, _ context: MCPRequestContext) -> Response {
        guard (request.headers[.accept] ?? "").contains("text/event-stream") else {
            return plain(.notAcceptable, "Not Acceptable: GET /mcp opens an event stream; send Accept: text/event-stream")
        }
        guard let id = request.headers[.mcpSessionID] else { return plain(.badRequest, "Bad Request: Mcp-Session-Id header is required") }
        guard let session = store.session(id), session.kind == .streamable else { return plain(.notFound, "Session not found: initialize again") }
        guard session.openStream(.init(channel: context.channel)) else {
            return plain(.conflict, "Conflict: this session already has an open event stream")
        }
        session.touch()
        return sse(headers: [.mcpSessionID: session.id], queue: session.queue, prelude: nil, channel: context.channel) { _ in
            session.streamEnded()
            session.touch()
        }
    }

    private func streamableDelete(_ request: Request) -> Response {
        guard let id = request.headers[.mcpSessionID] else { return plain(.badRequest, "Bad Request: Mcp-Session-Id header is required") }
        guard let session = store.session(id) else { return plain(.notFound, "Session not found") }
        store.end(session, reason: "DELETE by the client")
        return Response(status: .ok)
    }

    // MARK: - Legacy HTTP+SSE (2024-11-05)

    private func legacyOpen(_ context: MCPRequestContext) -> Response {
        guard let session = store.create(kind: .legacy) else { return tooManySessions() }
        _ = session.openStream(.init(channel: context.channel))
        let endpoint = Array("event: endpoint\ndata: /messages?session_id=\(session.id)\n\n".utf8)
        return sse(headers: [:], queue: session.queue, prelude: endpoint, channel: context.channel) { [store] _ in
            store.end(session, reason: "its event stream closed")
        }
    }

    private func legacyPost(_ request: Request) async throws -> Response {
        guard let id = request.uri.queryParameters["session_id"].map(String.init) ?? request.uri.queryParameters["sessionId"].map(String.init) else {
            return plain(.badRequest, "Bad Request: session_id query parameter is required")
        }
        guard let session = store.session(id), session.kind == .legacy else { return plain(.notFound, "Session not found") }
        guard let bytes = try await body(of: request) else {
            return plain(.contentTooLarge, "Content Too Large: the body exceeds \(options.maxBodyBytes) bytes")
        }
        session.touch()
        core.receive(bytes, from: session.client) // answers, errors included, arrive on the stream
        return plain(.accepted, "Accepted")
    }

    // MARK: - Helpers

    private func body(of request: Request) async throws -> [UInt8]? {
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
