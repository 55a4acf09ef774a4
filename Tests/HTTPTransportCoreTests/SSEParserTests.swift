import Testing
@testable import HTTPTransportCore

@Suite struct SSEParserTests {
    private func events(_ outputs: [SSEParser.Output]) -> [SSEEvent] {
        outputs.compactMap { if case .event(let e) = $0 { return e } else { return nil } }
    }

    private func text(_ event: SSEEvent) -> String { String(decoding: event.data, as: UTF8.self) }

    /// Feeds `stream` in pieces of `size` bytes and returns everything the parser produced.
    private func parse(_ stream: String, pieces size: Int, limit: Int = 1 << 20) -> (outputs: [SSEParser.Output], parser: SSEParser) {
        var parser = SSEParser(maxEventBytes: limit)
        var outputs: [SSEParser.Output] = []
        let bytes = Array(stream.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            outputs += parser.feed(bytes[start..<end])
            start = end
        }
        return (outputs, parser)
    }

    static let stream = "\u{FEFF}: a comment\r\nevent: message\r\nid: 1\r\ndata: {\"a\":1}\r\n\r\n"
        + "data: line one\ndata: line two\nid: 2\n\n"
        + "retry: 2500\rdata:no space\r\r"
        + "event: endpoint\ndata: /messages?session_id=abc\n\n"

    @Test(arguments: [1, 2, 3, 5, 7, 64, 4096])
    func sameEventsWhateverTheSplit(pieceSize: Int) throws {
        let (outputs, parser) = parse(Self.stream, pieces: pieceSize)
        let all = events(outputs)
        try #require(all.count == 4)
        #expect(all[0] == SSEEvent(type: "message", data: Array(#"{"a":1}"#.utf8), lastEventId: "1"))
        #expect(text(all[1]) == "line one\nline two")
        #expect(all[1].lastEventId == "2")
        #expect(text(all[2]) == "no space")
        #expect(all[2].lastEventId == "2") // the last id carries over to later events
        #expect(all[3].type == "endpoint")
        #expect(text(all[3]) == "/messages?session_id=abc")
        #expect(parser.retryMilliseconds == 2500)
        #expect(parser.lastEventId == "2")
    }

    @Test func splitAtEveryByteBoundaryOfCRLF() {
        // A CR ending one chunk and the LF starting the next are one line end, not two.
        var parser = SSEParser()
        var out = parser.feed(Array("data: a\r".utf8))
        out += parser.feed(Array("\ndata: b\r".utf8))
        out += parser.feed(Array("\n\r\n".utf8))
        let all = events(out)
        #expect(all.count == 1)
        #expect(all.first.map(text) == "a\nb")
    }

    @Test func bomOnlyAtTheStartAndSplitAcrossChunks() {
        var parser = SSEParser()
        var out = parser.feed([0xEF])
        out += parser.feed([0xBB, 0xBF])
        out += parser.feed(Array("data: x\n\n".utf8))
        #expect(events(out).map(text) == ["x"])

        // A BOM later in the stream is not skipped: it becomes part of the field name, which is
        // then unknown, so that line is ignored.
        var second = SSEParser()
        let later = second.feed(Array("data: a\n\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("data: b\n\n".utf8))
        #expect(events(later).map(text) == ["a"])
    }

    @Test func commentsAndUnknownFieldsAreIgnored() {
        var parser = SSEParser()
        let out = parser.feed(Array(": keep-alive\n\n: ping\nfoo: bar\ndata: kept\nbaz\n\n".utf8))
        #expect(events(out).map(text) == ["kept"])
    }

    @Test func eventsWithoutDataAreNotDispatchedButTheirIdCounts() {
        var parser = SSEParser()
        let out = parser.feed(Array("id: 7\n\nevent: x\n\ndata: y\n\n".utf8))
        let all = events(out)
        #expect(all.count == 1)
        #expect(all.first?.lastEventId == "7")
        #expect(all.first?.type == "message") // the "x" of the undispatched event does not leak
    }

    @Test func emptyDataLineDispatchesAnEmptyEvent() {
        var parser = SSEParser()
        let all = events(parser.feed(Array("id: 5\ndata:\n\n".utf8)))
        #expect(all.count == 1)
        #expect(all.first?.data == [])
        #expect(all.first?.lastEventId == "5")
    }

    @Test func idWithNulIsIgnoredAndEmptyIdResets() {
        var parser = SSEParser()
        _ = parser.feed(Array("id: 1\n".utf8) + Array("id: a".utf8) + [0] + Array("b\ndata: x\n\n".utf8))
        #expect(parser.lastEventId == "1")
        _ = parser.feed(Array("id\ndata: y\n\n".utf8))
        #expect(parser.lastEventId == "")
    }

    @Test func retryNeedsDigitsOnlyAndSaturates() {
        var parser = SSEParser()
        _ = parser.feed(Array("retry: 10s\n\n".utf8))
        #expect(parser.retryMilliseconds == nil)
        _ = parser.feed(Array("retry: 300\n\n".utf8))
        #expect(parser.retryMilliseconds == 300)
        _ = parser.feed(Array("retry: 99999999999999999999999999\n\n".utf8))
        #expect(parser.retryMilliseconds == Int.max)
    }

    @Test func oneSpaceAfterTheColonIsRemovedNotMore() {
        var parser = SSEParser()
        let all = events(parser.feed(Array("data:  two spaces\n\n".utf8)))
        #expect(all.first.map(text) == " two spaces")
    }

    @Test func oversizedEventIsDroppedCountedAndTheStreamGoesOn() {
        let big = String(repeating: "x", count: 5000)
        for size in [1, 100, 10_000] {
            let (outputs, _) = parse("data: small\n\ndata: \(big)\ndata: more\n\ndata: after\n\n", pieces: size, limit: 1000)
            #expect(outputs.count == 3)
            #expect(outputs.first == .event(SSEEvent(type: "message", data: Array("small".utf8), lastEventId: nil)))
            if case .oversized(let bytes) = outputs[1] {
                #expect(bytes >= 1000)
            } else {
                Issue.record("expected .oversized, got \(outputs[1])")
            }
            #expect(outputs.last == .event(SSEEvent(type: "message", data: Array("after".utf8), lastEventId: nil)))
        }
    }

    @Test func oversizedLineWithoutLineEndsIsNotBuffered() {
        var parser = SSEParser(maxEventBytes: 64)
        for _ in 0..<100 { _ = parser.feed(Array(repeating: UInt8(ascii: "a"), count: 1000)) }
        let out = parser.feed(Array("\n\ndata: ok\n\n".utf8))
        #expect(out.count == 2)
        if case .oversized(let bytes) = out.first { #expect(bytes >= 100_000) } else { Issue.record("no .oversized") }
        #expect(events(out).map(text) == ["ok"])
    }
}
