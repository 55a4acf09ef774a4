/// One event of a `text/event-stream`.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field; "message" when the event named none.
    public var type: String
    /// The `data:` lines joined with "\n".
    public var data: [UInt8]
    /// The stream's last event id when this event was dispatched (`id:` of this or an earlier event).
    public var lastEventId: String?

    public init(type: String, data: [UInt8], lastEventId: String?) {
        self.type = type
        self.data = data
        self.lastEventId = lastEventId
    }
}

/// An incremental parser for `text/event-stream` (the WHATWG "event stream interpretation").
///
/// Feed it bytes as they arrive, split anywhere: lines end with CRLF, LF or CR (a CR at the end of
/// one chunk and an LF at the start of the next are one line end); a UTF-8 BOM at the very start is
/// skipped; `:` lines are comments; `data:` lines are joined with "\n"; `id:` (without NUL) sets the
/// last event id; `retry:` (ASCII digits) sets the reconnection time; a blank line dispatches the
/// event, unless its data is empty. Unknown fields are ignored.
///
/// Bound: an event whose data and current line together pass `maxEventBytes` is not buffered: its
/// bytes are counted and dropped until the blank line ending it, which yields `.oversized(bytes)`.
public struct SSEParser: Sendable {
    public enum Output: Sendable, Equatable {
        case event(SSEEvent)
        /// An event larger than the limit was dropped; `bytes` is at least its size.
        case oversized(bytes: Int)
    }

    public let maxEventBytes: Int
    /// The last `id:` seen (nil until one was seen; "" after an empty `id:`).
    public private(set) var lastEventId: String?
    /// The last valid `retry:` in milliseconds.
    public private(set) var retryMilliseconds: Int?

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var sawCR = false
    private var atStart = true
    private var bomBytesSeen = 0
    private var discarding = false
    private var discardedBytes = 0
    /// Bytes of the current line, counted even while discarding (0 at a line end = blank line).
    private var lineLength = 0

    public init(maxEventBytes: Int = 64 << 20) {
        self.maxEventBytes = max(1, maxEventBytes)
    }

    /// Parses `chunk`; returns the events it completed, in order.
    public mutating func feed<Bytes: Collection>(_ chunk: Bytes) -> [Output] where Bytes.Element == UInt8 {
        var out: [Output] = []
        for byte in chunk {
            if atStart {
                // A BOM (EF BB BF) may start the stream; anything else ends the check.
                let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
                if byte == bom[bomBytesSeen] {
                    bomBytesSeen += 1
                    if bomBytesSeen == 3 { atStart = false }
                    continue
                }
                atStart = false
                if bomBytesSeen > 0 {
                    let partial = bom[0..<bomBytesSeen]
                    bomBytesSeen = 0
                    for b in partial { consume(b, into: &out) }
                }
            }
            consume(byte, into: &out)
        }
        return out
    }

    private mutating func consume(_ byte: UInt8, into out: inout [Output]) {
        switch byte {
        case 0x0A:
            if sawCR { sawCR = false; return } // the LF of a CRLF
            endLine(into: &out)
        case 0x0D:
            sawCR = true
            endLine(into: &out)
        default:
            sawCR = false
            lineLength &+= 1
            if discarding {
                discardedBytes &+= 1
            } else if line.count + data.count >= maxEventBytes {
                // Too big: drop what is buffered and count the rest of the event.
                discarding = true
                discardedBytes = line.count &+ data.count &+ 1
                line = []
                data = []
            } else {
                line.append(byte)
            }
        }
    }

    private mutating func endLine(into out: inout [Output]) {
        let blank = lineLength == 0
        lineLength = 0
        defer { line.removeAll(keepingCapacity: line.count < 4096) }
        if discarding {
            // Only the blank line ending the oversized event matters; its other lines are dropped.
            if blank {
                out.append(.oversized(bytes: discardedBytes))
                discarding = false
                discardedBytes = 0
                reset()
            }
            return
        }
        if blank {
            dispatch(into: &out)
            return
        }
        if line.first == UInt8(ascii: ":") { return } // comment
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let nameBytes = colon.map { line[..<$0] } ?? line[...]
        var value = colon.map { line[($0 + 1)...] } ?? line[line.endIndex...]
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        switch String(decoding: nameBytes, as: UTF8.self) {
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "id":
            if !value.contains(0) { lastEventId = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                var ms = 0
                for digit in value {
                    let (times, o1) = ms.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                    if o1 || o2 { ms = Int.max; break }
                    ms = sum
                }
                retryMilliseconds = ms
            }
        default:
            break
        }
    }

    private mutating func dispatch(into out: inout [Output]) {
        defer { reset() }
        guard hasData else { return }
        out.append(.event(SSEEvent(type: eventType.flatMap { $0.isEmpty ? nil : $0 } ?? "message", data: data, lastEventId: lastEventId)))
    }

    private mutating func reset() {
        data = []
        hasData = false
        eventType = nil
    }
}
