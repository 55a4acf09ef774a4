import Testing
@testable import HTTPTransportCore

@Suite struct WWWAuthenticateTests {
    @Test func bearerWithResourceMetadata() throws {
        let challenges = WWWAuthenticate.parse(#"Bearer resource_metadata="https://example.com/.well-known/oauth-protected-resource", scope="read""#)
        try #require(challenges.count == 1)
        #expect(challenges[0].scheme == "bearer")
        #expect(challenges[0][parameter: "resource_metadata"] == "https://example.com/.well-known/oauth-protected-resource")
        #expect(challenges[0][parameter: "scope"] == "read")
    }

    @Test func severalChallengesTokensAndEscapes() {
        let challenges = WWWAuthenticate.parse(#"Basic realm="a \"quoted\" realm", Bearer error=invalid_token, error_description="bad""#)
        #expect(challenges.map(\.scheme) == ["basic", "bearer"])
        #expect(challenges.first?[parameter: "realm"] == #"a "quoted" realm"#)
        #expect(challenges.last?[parameter: "error"] == "invalid_token")
        #expect(challenges.last?[parameter: "error_description"] == "bad")
    }

    @Test func bareSchemesToken68AndSeveralHeaders() {
        #expect(WWWAuthenticate.parse("Bearer") == [AuthChallenge(scheme: "bearer")])
        #expect(WWWAuthenticate.parse("Negotiate abc123==") == [AuthChallenge(scheme: "negotiate", token68: "abc123==")])
        #expect(WWWAuthenticate.parse(["Basic realm=x", "BEARER realm=\"y\""]).map(\.scheme) == ["basic", "bearer"])
        #expect(WWWAuthenticate.parse("Bearer, Basic").map(\.scheme) == ["bearer", "basic"])
        #expect(WWWAuthenticate.parse("").isEmpty)
        #expect(WWWAuthenticate.parse("Bearer realm=\"unterminated").first?[parameter: "realm"] == "unterminated")
    }
}

@Suite struct ErrorTextTests {
    @Test func oauthHintWithMetadata() {
        let text = ErrorText.httpStatus(backend: "gh", status: 401, reason: "Unauthorized", contentType: "application/json", body: [],
                                        wwwAuthenticate: [#"Bearer resource_metadata="https://auth.example.com/.well-known/x?secret=1""#])
        #expect(text.contains("backend 'gh' needs OAuth (HTTP 401; metadata at https://auth.example.com/.well-known/x)"))
        #expect(text.contains("\"headers\""))
        #expect(!text.contains("secret=1"))
    }

    @Test func refusedTokenIsNotCalledOAuth() {
        let text = ErrorText.httpStatus(backend: "b", status: 401, reason: "Unauthorized", contentType: nil, body: [],
                                        wwwAuthenticate: [#"Bearer error="invalid_token""#], sentAuthorization: true)
        #expect(text.contains("backend 'b' answered HTTP 401"))
        #expect(text.contains("refused the token"))
        let unsent = ErrorText.httpStatus(backend: "b", status: 401, reason: "Unauthorized", contentType: nil, body: [],
                                          wwwAuthenticate: [#"Bearer error="invalid_token""#], sentAuthorization: false)
        #expect(unsent.contains("needs OAuth (HTTP 401)"))
    }

    @Test func statusWithExcerptCappedAt200Bytes() {
        let body = Array(("boom\n" + String(repeating: "é", count: 300)).utf8)
        let text = ErrorText.httpStatus(backend: "b", status: 503, reason: "Service Unavailable", contentType: "text/plain", body: body, wwwAuthenticate: [])
        #expect(text.hasPrefix("mcp-host: backend 'b' answered HTTP 503 Service Unavailable: boom é"))
        let excerpt = text.dropFirst("mcp-host: backend 'b' answered HTTP 503 Service Unavailable: ".count)
        #expect(excerpt.utf8.count <= 200 + "…".utf8.count)
        #expect(!text.contains("\n"))
    }

    @Test func binaryBodiesGiveNoExcerptAndRedirectsNameTheTarget() {
        let binary = ErrorText.httpStatus(backend: "b", status: 500, reason: "Internal Server Error", contentType: "application/octet-stream", body: [0, 1, 2], wwwAuthenticate: [])
        #expect(binary == "mcp-host: backend 'b' answered HTTP 500 Internal Server Error")
        let redirect = ErrorText.httpStatus(backend: "b", status: 307, reason: "Temporary Redirect", contentType: nil, body: [], wwwAuthenticate: [],
                                            location: "http://h:1/mcp/?k=secret")
        #expect(redirect.contains("redirect to http://h:1/mcp/"))
        #expect(!redirect.contains("secret"))
    }
}

@Suite struct RemoteURLTests {
    @Test(arguments: [
        ("http://127.0.0.1:8000/mcp", "http://127.0.0.1:8000/mcp"),
        ("https://user:pass@example.com/mcp?token=abc#x", "https://example.com/mcp"),
        ("HTTPS://Example.com", "https://Example.com/"),
        ("http://[::1]:9000/a/b?c=d", "http://[::1]:9000/a/b"),
    ])
    func redaction(url: String, redacted: String) throws {
        #expect(try RemoteURL(url).redacted == redacted)
    }

    @Test func requestURLDropsUserinfoAndFragmentKeepsQuery() throws {
        let url = try RemoteURL("https://user:pass@example.com/mcp?token=abc#x")
        #expect(url.requestURL == "https://example.com/mcp?token=abc")
        #expect(url.port == 443)
        #expect(try RemoteURL("http://h").requestURL == "http://h/")
    }

    @Test func refusedURLs() {
        #expect(throws: RemoteURL.Problem.unsupportedScheme) { try RemoteURL("ws://h/mcp") }
        #expect(throws: RemoteURL.Problem.badPort) { try RemoteURL("http://h:0/mcp") }
        #expect(throws: RemoteURL.Problem.notAURL) { try RemoteURL("http://h/a b") }
        #expect(throws: RemoteURL.Problem.notAURL) { try RemoteURL("/relative") }
    }

    @Test(arguments: [
        ("http://127.0.0.1:8000/sse", "/messages/?session_id=abc", "http://127.0.0.1:8000/messages/?session_id=abc"),
        ("http://127.0.0.1:8000/sse", "messages?session_id=abc", "http://127.0.0.1:8000/messages?session_id=abc"),
        ("http://127.0.0.1:8000/base/sse", "messages?s=1", "http://127.0.0.1:8000/base/messages?s=1"),
        ("http://127.0.0.1:8000/base/sse", "../x", "http://127.0.0.1:8000/x"),
        ("http://127.0.0.1:8000/sse", "http://127.0.0.1:8000/m?s=1", "http://127.0.0.1:8000/m?s=1"),
        ("https://example.com/sse", "//example.com/m", "https://example.com/m"),
        ("http://127.0.0.1:8000/sse", " /messages\n", "http://127.0.0.1:8000/messages"),
    ])
    func endpointResolution(base: String, endpoint: String, expected: String) throws {
        let resolved = try RemoteURL(base).resolvingEndpoint(endpoint)
        #expect((try? resolved.get().requestURL) == expected)
    }

    @Test func endpointOfAnotherOriginIsRefused() throws {
        let base = try RemoteURL("http://127.0.0.1:8000/sse")
        for other in ["http://evil.example/messages", "https://127.0.0.1:8000/m", "http://127.0.0.1:8001/m", "//evil.example/m"] {
            #expect(throws: RemoteURL.EndpointProblem.otherOrigin) { try base.resolvingEndpoint(other).get() }
        }
        #expect(throws: RemoteURL.EndpointProblem.empty) { try base.resolvingEndpoint("  ").get() }
        #expect(throws: RemoteURL.EndpointProblem.invalid) { try base.resolvingEndpoint("ftp://127.0.0.1:8000/m").get() }
    }
}

@Suite struct BackoffTests {
    @Test func doublesFromRetryUpToTheCap() {
        #expect(Backoff.delayMs(attempt: 0, retryMs: nil, capMs: 30_000) == 1000)
        #expect(Backoff.delayMs(attempt: 1, retryMs: nil, capMs: 30_000) == 2000)
        #expect(Backoff.delayMs(attempt: 4, retryMs: nil, capMs: 30_000) == 16_000)
        #expect(Backoff.delayMs(attempt: 5, retryMs: nil, capMs: 30_000) == 30_000)
        #expect(Backoff.delayMs(attempt: 0, retryMs: 200, capMs: 30_000) == 200)
        #expect(Backoff.delayMs(attempt: 2, retryMs: 200, capMs: 30_000) == 800)
    }

    @Test func saturatesOnHostileInput() {
        #expect(Backoff.delayMs(attempt: Int.max, retryMs: Int.max, capMs: 10_000) == 10_000)
        #expect(Backoff.delayMs(attempt: -5, retryMs: -1, capMs: 10_000) == 0)
        #expect(Backoff.delayMs(attempt: 3, retryMs: 0, capMs: 10_000) == 4) // 0, then 1, 2, 4
        #expect(Backoff.delayMs(attempt: 1, retryMs: 100, capMs: -1) == 0)
    }
}
