/// What the transport needs to know about one JSON-RPC message, read without decoding it whole:
/// its kind, method, and the exact bytes of its id (the host matches ids byte for byte).
public struct JSONRPCMessage: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case request
        case notification
        case response
        /// Not a JSON object, or neither a method nor a result/error.
        case invalid
    }

    public let kind: Kind
    public let method: String?
    /// The id's JSON text exactly as it appears in the message (`42`, `"a"`); nil for a notification.
    public let id: [UInt8]?
    /// Where the id's bytes are in the message.
    public let idRange: Range<Int>?
    /// The byte range of `result`, when the message has one.
    public let resultRange: Range<Int>?
    /// The byte range of `params`, when the message has one.
    public let paramsRange: Range<Int>?

    /// Reads the top-level members of `bytes`.
    public init(_ bytes: [UInt8]) {
        var method: String?
        var idRange: Range<Int>?
        var resultRange: Range<Int>?
        var paramsRange: Range<Int>?
        var hasError = false
        var scanner = JSONScanner(bytes)
        do {
            try scanner.forEachMember { (name, scanner) throws(JSONScanner.Malformed) in
                switch name {
                case "method":
                    if scanner.peekByte() == UInt8(ascii: "\"") { method = try scanner.readString() }
                case "id":
                    let range = try scanner.skipValue(depth: 1)
                    if bytes[range.lowerBound] != UInt8(ascii: "n") { idRange = range } // "id": null is no id
                case "result": resultRange = try scanner.skipValue(depth: 1)
                case "error": hasError = true
                case "params": paramsRange = try scanner.skipValue(depth: 1)
                default: break
                }
            }
            scanner.skipWhitespace()
            guard scanner.atEnd else { throw JSONScanner.Malformed(offset: scanner.position, reason: "text after the message") }
        } catch {
            self.init(kind: .invalid, method: nil, id: nil, idRange: nil, resultRange: nil, paramsRange: nil)
            return
        }
        let kind: Kind
        if method != nil {
            kind = idRange == nil ? .notification : .request
        } else if idRange != nil, resultRange != nil || hasError {
            kind = .response
        } else if hasError {
            kind = .response // an error answer whose id was null (a parse error at the peer)
        } else {
            kind = .invalid
        }
        self.init(kind: kind, method: method, id: idRange.map { Array(bytes[$0]) }, idRange: idRange,
                  resultRange: resultRange, paramsRange: paramsRange)
    }

    private init(kind: Kind, method: String?, id: [UInt8]?, idRange: Range<Int>?, resultRange: Range<Int>?, paramsRange: Range<Int>?) {
        self.kind = kind
        self.method = method
        self.id = id
        self.idRange = idRange
        self.resultRange = resultRange
        self.paramsRange = paramsRange
    }

    /// A key under which two spellings of one id compare equal (`"a"` and `"\u0061"`): strings by
    /// their decoded text, numbers and anything else by their bytes.
    public static func idKey(_ id: [UInt8]) -> String {
        if id.first == UInt8(ascii: "\"") {
            var scanner = JSONScanner(id)
            if let text = try? scanner.readString() { return "s:" + text }
        }
        return "n:" + String(decoding: id, as: UTF8.self)
    }

    public var idKey: String? { id.map(Self.idKey) }

    /// The elements of a JSON array (a batch), each as its own bytes; nil when `bytes` is not an array.
    public static func splitBatch(_ bytes: [UInt8]) -> [[UInt8]]? {
        var scanner = JSONScanner(bytes)
        guard scanner.peekByte() == UInt8(ascii: "[") else { return nil }
        do {
            try scanner.expect(UInt8(ascii: "["))
            var items: [[UInt8]] = []
            if scanner.peekByte() == UInt8(ascii: "]") {
                try scanner.expect(UInt8(ascii: "]"))
            } else {
                while true {
                    let range = try scanner.skipValue(depth: 1)
                    items.append(Array(bytes[range]))
                    if scanner.peekByte() == UInt8(ascii: ",") { try scanner.expect(UInt8(ascii: ",")); continue }
                    try scanner.expect(UInt8(ascii: "]"))
                    break
                }
            }
            scanner.skipWhitespace()
            return scanner.atEnd ? items : nil
        } catch {
            return nil
        }
    }

    /// `result.protocolVersion` of an initialize response, if it has one.
    public static func protocolVersion(ofInitializeResponse bytes: [UInt8]) -> String? {
        let message = JSONRPCMessage(bytes)
        guard let range = message.resultRange else { return nil }
        var version: String?
        var scanner = JSONScanner(bytes, position: range.lowerBound)
        try? scanner.forEachMember { (name, scanner) throws(JSONScanner.Malformed) in
            if name == "protocolVersion", scanner.peekByte() == UInt8(ascii: "\"") { version = try scanner.readString() }
        }
        return version
    }

    /// `params.requestId` of a `notifications/cancelled`, as its JSON bytes.
    public static func cancelledRequestId(_ bytes: [UInt8]) -> [UInt8]? {
        let message = JSONRPCMessage(bytes)
        guard let range = message.paramsRange else { return nil }
        var id: [UInt8]?
        var scanner = JSONScanner(bytes, position: range.lowerBound)
        try? scanner.forEachMember { (name, scanner) throws(JSONScanner.Malformed) in
            if name == "requestId" { id = Array(bytes[try scanner.skipValue(depth: 2)]) }
        }
        return id
    }

    /// `bytes` with the id's value replaced by `newId` (JSON text); nil when the message has no id.
    public static func replacingId(in bytes: [UInt8], with newId: [UInt8]) -> [UInt8]? {
        guard let range = JSONRPCMessage(bytes).idRange else { return nil }
        var out = bytes
        out.replaceSubrange(range, with: newId)
        return out
    }

    /// A JSON-RPC error response for the request whose id is `id` (its JSON bytes).
    public static func errorResponse(id: [UInt8], code: Int, message: String) -> [UInt8] {
        var out = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        out += id
        out += Array(#","error":{"code":\#(code),"message":"#.utf8)
        out += Array(JSONText.quote(message).utf8)
        out += Array("}}".utf8)
        return out
    }
}

/// Writing JSON text by hand.
public enum JSONText {
    /// `text` as a JSON string literal.
    public static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
