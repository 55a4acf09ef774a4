import Testing
@testable import Host

/// Inputs the libFuzzer targets in Fuzz/ found (each is also a seed in its corpus): one test per
/// finding, asserting the property the fuzz target checks.
@Suite struct FuzzRegressionTests {
    /// Fuzz/Envelope/corpus/regression-invalid-id-in-error.json: a message with a bad `jsonrpc`
    /// and an object id was refused with that object as the error's id, so the host's error reply
    /// was itself invalid JSON-RPC (an id must be a string, an integer or null).
    @Test(arguments: [
        "{\"jsonrpc\":\"2.\u{CE}0\",\"id\":{\"x\":1},\"method\":\"ping\"}",
        #"{"jsonrpc":"1.0","id":[1],"method":"ping"}"#,
        #"{"jsonrpc":"2.0.","id":1.5,"method":"ping"}"#,
        #"{"id":true,"method":"ping"}"#,
    ])
    func anInvalidIDIsNeverEchoedInTheErrorReply(_ text: String) throws {
        do {
            _ = try Envelope.parse(Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == JSONRPCErrorCode.invalidRequest)
            #expect(error.id == nil, "echoed id \(String(decoding: error.id ?? [], as: UTF8.self))")
            let reply = JSONRPC.error(id: error.id, code: error.code, message: error.message)
            let parsed = try Envelope.parse(reply)
            #expect(parsed.kind == .response)
        }
    }

    /// The valid ids are still echoed when `jsonrpc` is wrong (so the client can match the error).
    @Test func aValidIDIsStillEchoedWhenTheVersionIsWrong() {
        for (text, id) in [(#"{"jsonrpc":"1.0","id":"7","method":"ping"}"#, #""7""#),
                           (#"{"jsonrpc":"1.0","id":-7,"method":"ping"}"#, "-7")] {
            #expect(throws: Envelope.Failure.invalid("\"jsonrpc\" must be \"2.0\"", id: Array(id.utf8))) {
                try Envelope.parse(Array(text.utf8))
            }
        }
    }

    /// Fuzz/Envelope/corpus/bad-escape.json: the scanner skipped any byte after a backslash, so
    /// `"\q"`, `"\u12"` or `"\x41"` passed as JSON and such a message was forwarded to a backend
    /// (or echoed to a client) that cannot parse it. RFC 8259 allows `\" \\ \/ \b \f \n \r \t \uXXXX`.
    @Test(arguments: [#""\q""#, #""\u12""#, #""\u12G4""#, #""\x41""#, #"{"a\'":1}"#, #"{"jsonrpc":"2.0","id":"\q","method":"ping"}"#, "\"\\"])
    func invalidEscapesAreNotJSON(_ text: String) {
        #expect(throws: JSONScanner.Failure.self) { try JSONScanner(Array(text.utf8)).documentRange() }
    }

    @Test func everyValidEscapeStillScans() throws {
        let text = #""\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 \ud800""#
        let scanner = JSONScanner(Array(text.utf8))
        let range = try scanner.documentRange()
        #expect(scanner.string(at: range) == "\" \\ / \u{08} \u{0C} \n \r \t é 😀 \u{FFFD}")
    }

    /// The same input through the HTTP front-end's validation: the 400 carries no invalid id.
    @Test func httpValidationRejectsItWithoutTheInvalidID() {
        let body = Array(#"{"jsonrpc":"2.0.","id":{"x":1},"method":"ping"}"#.utf8)
        let verdict = RequestValidation.validate(method: "POST", target: "/mcp",
                                                 headers: [("Content-Type", "application/json"), ("Mcp-Session-Id", "s")],
                                                 body: body, policy: HTTPValidationPolicy())
        guard case .reject(let rejection) = verdict else {
            Issue.record("accepted an invalid message")
            return
        }
        #expect(rejection.status == 400)
        #expect(rejection.jsonRPCCode == JSONRPCErrorCode.invalidRequest)
        #expect(rejection.jsonRPCID == nil)
    }
}
