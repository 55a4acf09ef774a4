import Testing
@testable import HTTPTransportCore

@Suite struct JSONRPCMessageTests {
    private func message(_ text: String) -> JSONRPCMessage { JSONRPCMessage(Array(text.utf8)) }

    @Test func kindsAndExactIdBytes() {
        let request = message(#"{"jsonrpc":"2.0","id": 42 ,"method":"tools/call","params":{"id":"inner"}}"#)
        #expect(request.kind == .request)
        #expect(request.method == "tools/call")
        #expect(request.id == Array("42".utf8))

        let stringId = message(#"{"method":"x","id":"a\u0062"}"#)
        #expect(stringId.id == Array(#""a\u0062""#.utf8)) // the bytes as sent, escapes and all
        #expect(stringId.idKey == JSONRPCMessage.idKey(Array(#""ab""#.utf8)))

        #expect(message(#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#).kind == .notification)
        #expect(message(#"{"jsonrpc":"2.0","id":1,"result":{}}"#).kind == .response)
        #expect(message(#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}"#).kind == .response)
        #expect(message(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"m"}}"#).kind == .response)
        #expect(message(#"{"jsonrpc":"2.0","method":"n","id":null}"#).kind == .notification)
        #expect(message(#"[1]"#).kind == .invalid)
        #expect(message(#"{"id":1}"#).kind == .invalid)
        #expect(message(#"{"id":1,"result":{}} x"#).kind == .invalid)
        #expect(message(#"{"id":1,"result":"#).kind == .invalid)
    }

    @Test func numbersAndStringsKeyApart() {
        #expect(JSONRPCMessage.idKey(Array("1".utf8)) != JSONRPCMessage.idKey(Array(#""1""#.utf8)))
    }

    @Test func batchSplitKeepsEachElementsBytes() {
        let parts = JSONRPCMessage.splitBatch(Array(#" [ {"id":1,"result":{}} , {"method":"n"} ] "#.utf8))
        #expect(parts?.map { String(decoding: $0, as: UTF8.self) } == [#"{"id":1,"result":{}}"#, #"{"method":"n"}"#])
        #expect(JSONRPCMessage.splitBatch(Array("[]".utf8)) == [])
        #expect(JSONRPCMessage.splitBatch(Array(#"{"id":1}"#.utf8)) == nil)
        #expect(JSONRPCMessage.splitBatch(Array("[1,".utf8)) == nil)
    }

    @Test func initializeProtocolVersionAndCancelledRequestId() {
        let answer = Array(#"{"jsonrpc":"2.0","id":0,"result":{"capabilities":{"protocolVersion":"no"},"protocolVersion":"2025-06-18"}}"#.utf8)
        #expect(JSONRPCMessage.protocolVersion(ofInitializeResponse: answer) == "2025-06-18")
        #expect(JSONRPCMessage.protocolVersion(ofInitializeResponse: Array(#"{"id":0,"error":{}}"#.utf8)) == nil)
        let cancel = Array(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"reason":"x","requestId":"r-7"}}"#.utf8)
        #expect(JSONRPCMessage.cancelledRequestId(cancel) == Array(#""r-7""#.utf8))
    }

    @Test func replacingTheIdKeepsEverythingElse() {
        let original = Array(#"{"jsonrpc":"2.0","id":17,"method":"initialize","params":{"id":3}}"#.utf8)
        let replaced = JSONRPCMessage.replacingId(in: original, with: Array(#""mcph-http-reinit-1""#.utf8))
        #expect(replaced.map { String(decoding: $0, as: UTF8.self) } == #"{"jsonrpc":"2.0","id":"mcph-http-reinit-1","method":"initialize","params":{"id":3}}"#)
        #expect(JSONRPCMessage.replacingId(in: Array(#"{"method":"n"}"#.utf8), with: Array("1".utf8)) == nil)
    }

    @Test func errorResponseIsValidJSONWithTheIdBytes() throws {
        let bytes = JSONRPCMessage.errorResponse(id: Array(#""a""#.utf8), code: -32000, message: "line\nquote\" \u{01}")
        let parsed = try JSONScanner.parse(bytes)
        guard case .object(let object) = parsed, case .object(let error)? = object["error"] else {
            Issue.record("not an error object")
            return
        }
        #expect(object["id"] == .string("a"))
        #expect(error["code"] == .integer(-32000))
        #expect(error["message"] == .string("line\nquote\" \u{01}"))
    }

    @Test func scannerIsStrictAndBounded() throws {
        #expect(throws: JSONScanner.Malformed.self) { try JSONScanner.parse(Array("01".utf8)) }
        #expect(throws: JSONScanner.Malformed.self) { try JSONScanner.parse(Array("{\"a\":1,}".utf8)) }
        #expect(throws: JSONScanner.Malformed.self) { try JSONScanner.parse(Array("\"\u{01}\"".utf8)) }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONScanner.Malformed.self) { try JSONScanner.parse(Array(deep.utf8)) }
        #expect(try JSONScanner.parse(Array(#"{"a":[1,2.5,true,null,"\ud83d\ude00"]}"#.utf8))
                == .object(["a": .array([.integer(1), .number(2.5), .bool(true), .null, .string("😀")])]))
    }
}
