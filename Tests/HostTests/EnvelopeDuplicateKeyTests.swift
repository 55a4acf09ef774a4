import Testing
@testable import Host

/// Duplicate JSON keys where the host reads or splices (the top level, `params`, `params._meta`)
/// are refused at parse time: the host would read and rewrite one copy while a peer whose parser
/// keeps the other (Python's `json` keeps the last) reads a different, unrewritten value.
@Suite struct EnvelopeDuplicateKeyTests {
    private func refusal(_ text: String) -> Envelope.Failure? {
        do {
            _ = try Envelope.parse(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    private func expectRefused(_ text: String, key: String, place: String, id: String?,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = refusal(text) else {
            Issue.record("accepted \(text)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == JSONRPCErrorCode.invalidRequest, "\(text)", sourceLocation: sourceLocation)
        #expect(error.message == "Invalid Request: duplicate key \"\(key)\" \(place); each key may appear once",
                "\(text)", sourceLocation: sourceLocation)
        #expect(error.id == id.map { Array($0.utf8) }, "\(text)", sourceLocation: sourceLocation)
        // The reply the host writes for it is itself a valid response.
        let reply = JSONRPC.error(id: error.id, code: error.code, message: error.message)
        #expect((try? Envelope.parse(reply))?.kind == .response, sourceLocation: sourceLocation)
    }

    @Test func aDuplicateTopLevelKeyIsRefused() {
        // Client request: which method? The host would route one, a backend act on the other.
        expectRefused(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping"}"#,
                      key: "method", place: "at the top level", id: "1")
        // A duplicated id is ambiguous, so no id is echoed (the host would map one, the peer answer the other).
        expectRefused(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","id":2}"#,
                      key: "id", place: "at the top level", id: nil)
        // The same key written with an escape is the same key to every JSON parser.
        expectRefused(#"{"jsonrpc":"2.0","id":1,"method":"ping","\u0069d":2}"#,
                      key: "id", place: "at the top level", id: nil)
        // Backend response: the host would splice the client's id into one, the client read the other.
        expectRefused(#"{"jsonrpc":"2.0","id":"7","result":{},"result":{"x":1}}"#,
                      key: "result", place: "at the top level", id: #""7""#)
        expectRefused(#"{"jsonrpc":"2.0","jsonrpc":"1.0","id":-3,"method":"ping"}"#,
                      key: "jsonrpc", place: "at the top level", id: "-3")
    }

    @Test func aDuplicateKeyInParamsIsRefused() {
        // The host would route on and rewrite the first name; Python's json reads the second.
        expectRefused(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__x","name":"b__y"}}"#,
                      key: "name", place: "in params", id: "1")
        expectRefused(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"x","requestId":2}}"#,
                      key: "requestId", place: "in params", id: nil)
        expectRefused(#"{"jsonrpc":"2.0","id":"r","method":"resources/read","params":{"uri":"file:///a","\u0075ri":"file:///b"}}"#,
                      key: "uri", place: "in params", id: #""r""#)
        // More members than the pairwise path handles: the hashed path finds it too.
        let many = (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        expectRefused(#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a__x",\#(many),"k7":0}}"#,
                      key: "k7", place: "in params", id: "2")
    }

    @Test func aDuplicateKeyInParamsMetaIsRefused() {
        // The host would rewrite the first progressToken; the backend would report progress on the other.
        expectRefused(#"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"a__x","_meta":{"progressToken":"t1","progressToken":"t2"}}}"#,
                      key: "progressToken", place: "in params._meta", id: #""c""#)
        // A backend's progress notification carrying a duplicated token in _meta.
        expectRefused(#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":5,"progress":1,"_meta":{"a":1,"a":2}}}"#,
                      key: "a", place: "in params._meta", id: nil)
    }

    /// A tool's own data is not the host's business: duplicates inside `arguments`, inside deeper
    /// `_meta` values or inside a result are passed on untouched (and not even descended into).
    @Test func duplicatesInsideAToolsOwnDataAreNotRefused() throws {
        let text = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__x","arguments":{"k":1,"k":2,"deep":{"z":[{"q":1,"q":2}],"z":0}},"_meta":{"progressToken":"t","x":{"y":1,"y":2}}}}"#
        let envelope = try Envelope.parse(Array(text.utf8))
        #expect(envelope.kind == .request)
        #expect(envelope.param("name").flatMap { envelope.scanner.string(at: $0.value) } == "a__x")
        #expect(envelope.param("_meta", "progressToken").flatMap { envelope.scanner.string(at: $0.value) } == "t")

        let response = try Envelope.parse(Array(#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"content":[{"type":"text","text":"x"}]}}"#.utf8))
        #expect(response.kind == .response)
        let error = try Envelope.parse(Array(#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"code":2,"message":"m"}}"#.utf8))
        #expect(error.kind == .response)
    }

    /// Keys are compared as decoded text, exactly: text that Swift's `String ==` calls equal
    /// (canonically equivalent) is two different keys to a peer's parser, so it is no duplicate.
    @Test func keysAreComparedAsExactDecodedText() throws {
        for params in [#"{"\u212A":1,"K":2}"#, #"{"é":1,"e\u0301":2}"#, #"{"a":1,"A":2,"a ":3}"#] {
            let text = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":\#(params)}"#
            #expect(refusal(text) == nil, "\(text)")
        }
        expectRefused(#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"é":1,"\u00e9":2}}"#,
                      key: "é", place: "in params", id: "1")
    }

    /// `Envelope.parse` and `JSONScanner.member` read the same members: an escaped key is the
    /// key it decodes to for both (before, `parse` compared raw bytes and missed `"\u0069d"`, so
    /// the host took a request for a notification while the backend saw an id).
    @Test func parseAndMemberReadTheSameMembers() throws {
        let text = #"{"json\u0072pc":"2.0","\u0069d":8,"m\u0065thod":"tools/call","p\u0061rams":{"n\u0061me":"a__x"}}"#
        let envelope = try Envelope.parse(Array(text.utf8))
        #expect(envelope.kind == .request)
        #expect(envelope.idBytes == Array("8".utf8))
        #expect(envelope.id == envelope.member("id")?.value)
        #expect(envelope.params == envelope.member("params")?.value)
        #expect(envelope.method == "tools/call")
        #expect(envelope.param("name").flatMap { envelope.scanner.string(at: $0.value) } == "a__x")
    }
}
