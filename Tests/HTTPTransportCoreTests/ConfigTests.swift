import Testing
@testable import HTTPTransportCore

@Suite struct ConfigTests {
    private func parse(_ json: String) throws(HTTPConfig.Invalid) -> HTTPConfig {
        try HTTPConfig.parse(Array(json.utf8))
    }

    private func error(_ json: String) -> HTTPConfig.Invalid? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func fullConfig() throws {
        let config = try parse(#"""
            {"name":"remote","url":"https://user:pw@example.com:8443/mcp?key=k#frag","type":"streamable-http",
             "headers":{"X-B":"2","Authorization":"Bearer t"},"connect_timeout":"500ms","max_connections":8,
             "shutdownGraceMs":2000,"request_timeout":"5s","unknown":[1,2]}
            """#)
        #expect(config.name == "remote")
        #expect(config.mode == .streamable)
        #expect(config.url.host == "example.com")
        #expect(config.url.port == 8443)
        #expect(config.url.redacted == "https://example.com:8443/mcp")
        #expect(config.url.requestURL == "https://example.com:8443/mcp?key=k")
        #expect(config.url.userinfo?.user == "user")
        #expect(config.headers.map(\.name) == ["Authorization", "X-B"])
        #expect(config.connectTimeoutSeconds == 0.5)
        #expect(config.maxConnections == 8)
        #expect(config.shutdownGraceMs == 2000)
    }

    @Test func defaultsAndModes() throws {
        let plain = try parse(#"{"url":"http://127.0.0.1:8000/mcp"}"#)
        #expect(plain.mode == .streamable)
        #expect(plain.connectTimeoutSeconds == 10)
        #expect(plain.maxConnections == 64)
        #expect(plain.headers.isEmpty)
        #expect(plain.name == "127.0.0.1")
        for type in ["http", "streamable-http", "streamableHttp"] {
            #expect(try parse(#"{"url":"http://h/mcp","type":"\#(type)"}"#).mode == .streamable)
        }
        #expect(try parse(#"{"url":"http://h/sse","type":"sse"}"#).mode == .legacy)
        #expect(try parse(#"{"url":"http://h/sse","transport":"sse"}"#).mode == .legacy)
        #expect(try parse(#"{"url":"http://h/mcp","connect_timeout":2}"#).connectTimeoutSeconds == 2)
        #expect(try parse(#"{"url":"http://h/mcp","connect_timeout":"1m30s"}"#).connectTimeoutSeconds == 90)
    }

    @Test(arguments: [
        (#"{}"#, "url"),
        (#"{"url":5}"#, "url"),
        (#"{"url":"ftp://h/x"}"#, "url"),
        (#"{"url":"not a url"}"#, "url"),
        (#"{"url":"http:///nohost"}"#, "url"),
        (#"{"url":"http://h/mcp","type":"websocket"}"#, "type"),
        (#"{"url":"http://h/mcp","transport":7}"#, "transport"),
        (#"{"url":"http://h/mcp","headers":["A"]}"#, "headers"),
        (#"{"url":"http://h/mcp","headers":{"A":1}}"#, "headers"),
        (#"{"url":"http://h/mcp","headers":{"Bad Name":"v"}}"#, "headers"),
        (#"{"url":"http://h/mcp","headers":{"Mcp-Session-Id":"v"}}"#, "headers"),
        (#"{"url":"http://h/mcp","headers":{"a":"1","A":"2"}}"#, "headers"),
        (#"{"url":"http://h/mcp","connect_timeout":"x"}"#, "connect_timeout"),
        (#"{"url":"http://h/mcp","connect_timeout":0}"#, "connect_timeout"),
        (#"{"url":"http://h/mcp","connect_timeout":"2h"}"#, "connect_timeout"),
        (#"{"url":"http://h/mcp","connect_timeout":-1}"#, "connect_timeout"),
        (#"{"url":"http://h/mcp","connect_timeout":true}"#, "connect_timeout"),
        (#"{"url":"http://h/mcp","max_connections":0}"#, "max_connections"),
        (#"{"url":"http://h/mcp","max_connections":1025}"#, "max_connections"),
        (#"{"url":"http://h/mcp","max_connections":1.5}"#, "max_connections"),
        (#"{"url":"http://h/mcp","max_connections":"8"}"#, "max_connections"),
    ])
    func invalidValuesNameTheirKey(json: String, key: String) {
        let problem = error(json)
        #expect(problem?.key == key, "\(json)")
        #expect(problem?.description.hasPrefix("\"\(key)\": ") == true)
    }

    @Test func notJSONOrNotAnObject() {
        #expect(error("{").map { $0.key == nil && $0.message.contains("not valid JSON") } == true)
        #expect(error("[1]").map { $0.key == nil && $0.message.contains("object") } == true)
    }

    @Test func errorsNeverRepeatSecrets() {
        let secret = "s3cr3t-value"
        let cases = [
            #"{"url":"http://h/mcp","headers":{"Authorization":"Bearer \#(secret)\r\nX: y"}}"#,
            #"{"url":"http://h/mcp","headers":{"Authorization":"Bearer \#(secret)"},"connect_timeout":"\#(secret)"}"#,
            #"{"url":"ftp://user:\#(secret)@h/x?token=\#(secret)"}"#,
            #"{"url":"http://user:\#(secret)@h:99999/x?token=\#(secret)"}"#,
            #"{"url":"http://h/mcp?token=\#(secret)","type":"\#(secret)"}"#,
            #"{"url":"http://h/mcp","headers":{"X-Key":{"nested":"\#(secret)"}}}"#,
            #"{"url":"http://h/mcp","max_connections":"\#(secret)"}"#,
        ]
        for json in cases {
            let problem = error(json)
            #expect(problem != nil, "\(json) should be refused")
            #expect(problem?.description.contains(secret) == false, "\(problem?.description ?? "")")
        }
    }

    @Test func headerValueWithLineBreakIsRefusedNamingTheHeaderOnly() {
        let problem = error(#"{"url":"http://h/mcp","headers":{"X-Api-Key":"abc\ndef"}}"#)
        #expect(problem?.key == "headers")
        #expect(problem?.message.contains("X-Api-Key") == true)
        #expect(problem?.message.contains("abc") == false)
    }
}

@Suite struct DurationTests {
    @Test(arguments: [("500ms", 0.5), ("10s", 10.0), ("5m", 300.0), ("1h", 3600.0), ("1m30s", 90.0), ("1.5s", 1.5), ("2", 2.0), (" 3s ", 3.0), ("0.001", 0.001)])
    func valid(text: String, seconds: Double) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test(arguments: ["", "x", "5x", "-1s", "-3", "s", "1s2", "nan", "inf", "1..5s"])
    func invalid(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test func jsonValues() {
        #expect(DurationText.seconds(json: .integer(3)) == 3)
        #expect(DurationText.seconds(json: .number(0.25)) == 0.25)
        #expect(DurationText.seconds(json: .bool(true)) == nil)
        #expect(DurationText.seconds(json: .null) == nil)
    }
}

@Suite struct SecretTests {
    @Test func secretsCoverHeaderValuesTheirWordsUserinfoAndQuery() throws {
        let config = try HTTPConfig.parse(Array(#"{"url":"https://bob:hunter22@h/mcp?api_key=abcdef123&x=1","headers":{"Authorization":"Bearer tok-123456","X-K":"k"}}"#.utf8))
        let secrets = Set(config.secrets)
        #expect(secrets.isSuperset(of: ["Bearer tok-123456", "tok-123456", "hunter22", "abcdef123"]))
        #expect(!secrets.contains("k") && !secrets.contains("1")) // too short to hide without garbling text
        #expect(!secrets.contains("Bearer")) // a scheme word, not a secret
    }

    @Test func errorExcerptsNeverEchoASecret() {
        let body = Array(#"{"error":"token tok-123456 is not valid for key abcdef123"}"#.utf8)
        let text = ErrorText.httpStatus(backend: "b", status: 403, reason: "Forbidden", contentType: "application/json", body: body,
                                        wwwAuthenticate: [], secrets: ["tok-123456", "abcdef123"])
        #expect(!text.contains("tok-123456"))
        #expect(!text.contains("abcdef123"))
        #expect(text.contains("token [redacted] is not valid"))
    }

    @Test func nothingTheServerChoseEchoesASecret() {
        // The reason phrase and a refused token's challenge are the server's text too.
        let reason = ErrorText.httpStatus(backend: "b", status: 403, reason: "Forbidden for tok-123456", contentType: nil, body: [],
                                          wwwAuthenticate: [], secrets: ["tok-123456"])
        #expect(!reason.contains("tok-123456"), "\(reason)")
        let challenge = ErrorText.httpStatus(backend: "b", status: 401, reason: "Unauthorized", contentType: nil, body: [],
                                             wwwAuthenticate: [#"Bearer error="tok-123456""#], sentAuthorization: true, secrets: ["tok-123456"])
        #expect(challenge.contains("refused the token"), "\(challenge)")
        #expect(!challenge.contains("tok-123456"), "\(challenge)")

        // A secret that straddles the excerpt's cut is not shown in part.
        let token = "tok-" + String(repeating: "9", count: 60)
        let body = Array((String(repeating: "x", count: 180) + " " + token + " tail").utf8)
        let cut = ErrorText.httpStatus(backend: "b", status: 500, reason: "", contentType: "text/plain", body: body,
                                       wwwAuthenticate: [], secrets: [token])
        #expect(!cut.contains("tok-99"), "\(cut)")
        #expect(cut.contains("[redacted]"), "\(cut)")
    }

    @Test func aSubstitutedValueIsHiddenEvenInTheURLsPath() throws {
        let config = try HTTPConfig.parse(Array(#"{"name":"r","url":"https://example.com/v1/sk-live-123456/mcp","substituted_values":["sk-live-123456"]}"#.utf8))
        #expect(config.shownURL == "https://example.com/v1/[redacted]/mcp", "\(config.shownURL)")
        #expect(config.secrets.contains("sk-live-123456"))
        let plain = try HTTPConfig.parse(Array(#"{"name":"r","url":"https://example.com/v1/mcp"}"#.utf8))
        #expect(plain.shownURL == "https://example.com/v1/mcp")
    }
}
