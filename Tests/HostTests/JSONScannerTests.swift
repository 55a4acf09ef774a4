import Testing
@testable import Host

@Suite struct JSONScannerTests {
    @Test func findsMembersAndNestedPaths() throws {
        let scanner = JSONScanner(Array(#" {"a": 1, "b": {"c": [1, {"d": "x"}], "e": "\"q\""}, "f": null} "#.utf8))
        let root = try scanner.documentRange()
        let members = try scanner.members(ofObject: root)
        #expect(members.map { String(decoding: scanner.slice($0.key), as: UTF8.self) } == ["a", "b", "f"])
        let e = try #require(try scanner.member(path: ["b", "e"], inObject: root))
        #expect(scanner.string(at: e.value) == "\"q\"")
        let c = try #require(try scanner.member(path: ["b", "c"], inObject: root))
        #expect(try scanner.elements(ofArray: c.value).map { String(decoding: scanner.slice($0), as: UTF8.self) } == ["1", #"{"d": "x"}"#])
        #expect(try scanner.member(path: ["b", "zz"], inObject: root) == nil)
        #expect(try scanner.member(path: ["a", "x"], inObject: root) == nil, "a is not an object")
    }

    @Test func decodesEscapesInStrings() {
        let scanner = JSONScanner(Array(#""a\n\u00e9\ud83d\ude00\/""#.utf8))
        #expect(scanner.string(at: 0..<scanner.bytes.count) == "a\né😀/")
    }

    @Test(arguments: [#"{"a":}"#, #"{"a":1"#, #"{"a" 1}"#, #"[1,]"#, #"tru"#, #"{"a":1} x"#, #""abc"#, "-", "01x", "{\"a\":\"\u{01}\"}"])
    func rejectsMalformedJSON(_ text: String) {
        #expect(throws: JSONScanner.Failure.self) { try JSONScanner(Array(text.utf8)).documentRange() }
    }

    @Test func refusesExcessiveNesting() {
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(throws: JSONScanner.Failure.tooDeep) { try JSONScanner(Array(deep.utf8)).documentRange() }
    }

    @Test func encodesStringsRoundTrip() {
        let text = "quote\" backslash\\ newline\n tab\t bell\u{07} é"
        let encoded = JSONString.encode(text)
        let scanner = JSONScanner(encoded)
        #expect(scanner.string(at: 0..<encoded.count) == text)
        #expect(!encoded.contains(0x0A), "no raw newline inside an NDJSON line")
    }
}

@Suite struct EnvelopeTests {
    @Test func classifiesMessagesAndKeepsIDBytes() throws {
        let request = try Envelope.parse(Array(#"{"jsonrpc":"2.0","id":"7","method":"tools/call","params":{"name":"a__b"}}"#.utf8))
        #expect(request.kind == .request)
        #expect(request.idBytes == Array(#""7""#.utf8))
        #expect(request.method == "tools/call")
        #expect(request.param("name").flatMap { request.scanner.string(at: $0.value) } == "a__b")

        let numeric = try Envelope.parse(Array(#"{"id":7,"jsonrpc":"2.0","method":"ping"}"#.utf8))
        #expect(numeric.idBytes == Array("7".utf8))

        let notification = try Envelope.parse(Array(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8))
        #expect(notification.kind == .notification)

        let response = try Envelope.parse(Array(#"{"jsonrpc":"2.0","id":3,"result":{}}"#.utf8))
        #expect(response.kind == .response)
    }

    @Test func reportsParseErrorsBatchesAndInvalidRequests() {
        #expect(throws: Envelope.Failure.self) { try Envelope.parse(Array("{nope".utf8)) }
        do {
            _ = try Envelope.parse(Array(#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#.utf8))
            Issue.record("a batch was accepted")
        } catch {
            #expect(error == .batch)
            #expect(error.code == -32600)
        }
        for (text, id) in [(#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#, nil as [UInt8]?),
                           (#"{"jsonrpc":"1.0","id":4,"method":"ping"}"#, Array("4".utf8)),
                           (#"{"jsonrpc":"2.0","id":5,"method":3}"#, Array("5".utf8)),
                           (#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, nil)] {
            do {
                _ = try Envelope.parse(Array(text.utf8))
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.code == -32600, "\(text)")
                #expect(error.id == id, "\(text)")
            }
        }
    }

    @Test func splicingTheIDKeepsEveryOtherByte() throws {
        let original = #"{"jsonrpc":"2.0", "id" : "abc","method":"tools/call","params":{"name":"x","_meta":{"progressToken":"t"},"x-unknown":[1, 2.50]}}"#
        let envelope = try Envelope.parse(Array(original.utf8))
        let token = try #require(envelope.param("_meta", "progressToken"))
        let spliced = ByteSplice.apply([.init(token.value, Array("42".utf8)), .init(envelope.id!, Array("17".utf8))], to: envelope.bytes)
        #expect(String(decoding: spliced, as: UTF8.self)
            == #"{"jsonrpc":"2.0", "id" : 17,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":42},"x-unknown":[1, 2.50]}}"#)
    }
}
