/// The JSON-RPC envelope of one message, found by scanning (never by decoding the whole message).
public struct Envelope: Sendable {
    public enum Kind: Sendable, Equatable {
        case request
        case notification
        case response
    }

    /// Why a message could not be taken as a JSON-RPC message. Maps to a JSON-RPC error code.
    public enum Failure: Error, Equatable, Sendable {
        /// Not JSON at all (-32700).
        case parse(String)
        /// JSON, but a batch (-32600); batches were removed from MCP in 2025-06-18.
        case batch
        /// JSON, but not a valid JSON-RPC message (-32600). `id` is the raw id when one was readable.
        case invalid(String, id: [UInt8]?)

        public var code: Int {
            switch self {
            case .parse: return JSONRPCErrorCode.parseError
            case .batch, .invalid: return JSONRPCErrorCode.invalidRequest
            }
        }

        public var message: String {
            switch self {
            case .parse(let why): return "Parse error: \(why)"
            case .batch: return "Invalid Request: JSON-RPC batches are not supported (removed from MCP in 2025-06-18); send one message at a time"
            case .invalid(let why, _): return "Invalid Request: \(why)"
            }
        }

        public var id: [UInt8]? {
            if case .invalid(_, let id) = self { return id }
            return nil
        }
    }

    public let scanner: JSONScanner
    public let kind: Kind
    /// Range of the whole top-level object.
    public let object: Range<Int>
    /// Range of the `id` value (requests and responses).
    public let id: Range<Int>?
    /// The method (requests and notifications).
    public let method: String?
    /// Range of the `params` value, when present.
    public let params: Range<Int>?

    public var bytes: [UInt8] { scanner.bytes }

    /// The raw bytes of the id, exactly as the peer sent them (`7` and `"7"` stay distinct).
    public var idBytes: [UInt8]? { id.map { Array(scanner.bytes[$0]) } }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> Envelope {
        let scanner = JSONScanner(bytes)
        let document: Range<Int>
        do {
            document = try scanner.documentRange()
        } catch {
            throw .parse(Self.describe(error))
        }
        switch bytes[document.lowerBound] {
        case UInt8(ascii: "["): throw .batch
        case UInt8(ascii: "{"): break
        default: throw .invalid("a message must be a JSON object", id: nil)
        }
        let members: [JSONScanner.Member]
        do { members = try scanner.members(ofObject: document) } catch { throw .parse(Self.describe(error)) }

        var id: Range<Int>?, method: Range<Int>?, params: Range<Int>?, version: Range<Int>?
        var hasResult = false, hasError = false
        for member in members {
            switch String(decoding: bytes[member.key], as: UTF8.self) {
            case "id": id = member.value
            case "method": method = member.value
            case "params": params = member.value
            case "jsonrpc": version = member.value
            case "result": hasResult = true
            case "error": hasError = true
            default: break
            }
        }
        // Only a string or integer id is echoed in an error (anything else would make the error
        // reply itself invalid JSON-RPC); found by Fuzz/Envelope.
        var idIsStringOrInteger = false
        if let id {
            let first = bytes[id.lowerBound]
            let isString = first == UInt8(ascii: "\"")
            let isInteger = (first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first))
                && !bytes[id].contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") })
            idIsStringOrInteger = isString || isInteger
        }
        let idBytes = idIsStringOrInteger ? id.map { Array(bytes[$0]) } : nil
        guard let version, scanner.string(at: version) == "2.0" else {
            throw .invalid("\"jsonrpc\" must be \"2.0\"", id: idBytes)
        }
        if let id {
            let isNullOnResponse = bytes[id.lowerBound] == UInt8(ascii: "n") && method == nil && hasError
            guard idIsStringOrInteger || isNullOnResponse else {
                throw .invalid("\"id\" must be a string or an integer", id: nil)
            }
        }
        if let method {
            guard let name = scanner.string(at: method) else {
                throw .invalid("\"method\" must be a string", id: idBytes)
            }
            if let params, ![UInt8(ascii: "{"), UInt8(ascii: "[")].contains(bytes[params.lowerBound]) {
                throw .invalid("\"params\" must be an object", id: idBytes)
            }
            return Envelope(scanner: scanner, kind: id == nil ? .notification : .request, object: document,
                            id: id, method: name, params: params)
        }
        guard id != nil, hasResult != hasError else {
            throw .invalid("a message needs \"method\" (request or notification) or \"id\" with exactly one of \"result\" and \"error\" (response)", id: idBytes)
        }
        return Envelope(scanner: scanner, kind: .response, object: document, id: id, method: nil, params: nil)
    }

    /// A member of `params` by path, e.g. `["_meta", "progressToken"]`.
    public func param(_ path: String...) -> JSONScanner.Member? {
        guard let params, bytes[params.lowerBound] == UInt8(ascii: "{") else { return nil }
        return try? scanner.member(path: path, inObject: params)
    }

    /// A top-level member of the message by name (e.g. `result`, `error`).
    public func member(_ key: String) -> JSONScanner.Member? {
        try? scanner.member(key, inObject: object)
    }

    private static func describe(_ failure: JSONScanner.Failure) -> String {
        switch failure {
        case .unexpectedEnd: return "the message ends in the middle of a JSON value"
        case .unexpectedByte(let offset): return "unexpected character at byte \(offset)"
        case .tooDeep: return "nesting deeper than \(JSONScanner.maximumDepth) levels"
        }
    }
}
