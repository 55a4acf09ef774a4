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
    /// The members of `params` when it is an object (found by the one scan of the message).
    let paramMembers: [JSONScanner.Member]?

    public var bytes: [UInt8] { scanner.bytes }

    /// The raw bytes of the id, exactly as the peer sent them (`7` and `"7"` stay distinct).
    public var idBytes: [UInt8]? { id.map { Array(scanner.bytes[$0]) } }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> Envelope {
        let scanner = JSONScanner(bytes)
        // One pass finds the members and those of `params` (the usual message); anything that is
        // not an object is scanned as a whole to tell a parse error from a batch or a scalar.
        let document: Range<Int>
        let members: [JSONScanner.Member]
        let paramMembers: [JSONScanner.Member]?
        do {
            if let scanned = try scanner.objectDocument(nested: "params") {
                (document, members, paramMembers) = scanned
            } else {
                let whole = try scanner.documentRange()
                throw bytes[whole.lowerBound] == UInt8(ascii: "[") ? Failure.batch : Failure.invalid("a message must be a JSON object", id: nil)
            }
        } catch let error as JSONScanner.Failure {
            throw .parse(Self.describe(error))
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .parse("\(error)")
        }

        // Keys are read as decoded text (as `JSONScanner.member` and every peer read them), and the
        // first occurrence is taken, like `member`; a duplicate is refused below in any case.
        var id: Range<Int>?, method: Range<Int>?, params: Range<Int>?, version: Range<Int>?
        var hasResult = false, hasError = false
        for member in members {
            let key = scanner.keyText(member.key)
            if key.elementsEqual("id".utf8) { if id == nil { id = member.value } }
            else if key.elementsEqual("method".utf8) { if method == nil { method = member.value } }
            else if key.elementsEqual("params".utf8) { if params == nil { params = member.value } }
            else if key.elementsEqual("jsonrpc".utf8) { if version == nil { version = member.value } }
            else if key.elementsEqual("result".utf8) { hasResult = true }
            else if key.elementsEqual("error".utf8) { hasError = true }
        }
        let duplicate = scanner.duplicateKey(among: members)
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
        // A duplicated id is ambiguous (which one would the client match?), so it is not echoed.
        let idBytes = idIsStringOrInteger && duplicate != "id" ? id.map { Array(bytes[$0]) } : nil
        // Duplicate keys where the host reads or splices (top level, `params`, `params._meta`) are
        // refused: the host would read or rewrite the first copy while a peer whose parser keeps
        // the last (Python's `json`) reads the other, unrewritten one.
        if let duplicate { throw Self.duplicate(duplicate, in: "at the top level", id: idBytes) }
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
            // The members scanned belong to the first `params`, the one read here (a second one
            // is a duplicate key, refused above).
            if let paramMembers {
                try checkUniqueKeys(scanner, paramMembers: paramMembers, id: idBytes)
            }
            return Envelope(scanner: scanner, kind: id == nil ? .notification : .request, object: document,
                            id: id, method: name, params: params, paramMembers: paramMembers)
        }
        guard id != nil, hasResult != hasError else {
            throw .invalid("a message needs \"method\" (request or notification) or \"id\" with exactly one of \"result\" and \"error\" (response)", id: idBytes)
        }
        return Envelope(scanner: scanner, kind: .response, object: document, id: id, method: nil, params: nil, paramMembers: nil)
    }

    /// A member of `params` by path, e.g. `["_meta", "progressToken"]`.
    public func param(_ path: String...) -> JSONScanner.Member? {
        guard let first = path.first, let paramMembers, let top = scanner.first(first, among: paramMembers) else { return nil }
        guard path.count > 1 else { return top }
        guard bytes[top.value.lowerBound] == UInt8(ascii: "{") else { return nil }
        return try? scanner.member(path: Array(path.dropFirst()), inObject: top.value)
    }

    /// A top-level member of the message by name (e.g. `result`, `error`).
    public func member(_ key: String) -> JSONScanner.Member? {
        try? scanner.member(key, inObject: object)
    }

    /// Refuses duplicate keys in `params` and in `params._meta`. Only keys are compared: the values
    /// (`arguments` can be large) are skipped, as any member lookup skips them, never descended into.
    private static func checkUniqueKeys(_ scanner: JSONScanner, paramMembers members: [JSONScanner.Member], id: [UInt8]?) throws(Failure) {
        if let duplicate = scanner.duplicateKey(among: members) {
            throw Self.duplicate(duplicate, in: "in params", id: id)
        }
        guard let meta = members.first(where: { scanner.keyText($0.key).elementsEqual("_meta".utf8) }),
              scanner.bytes[meta.value.lowerBound] == UInt8(ascii: "{") else { return }
        let metaMembers: [JSONScanner.Member]
        do { metaMembers = try scanner.members(ofObject: meta.value) } catch { throw .parse(Self.describe(error)) }
        if let duplicate = scanner.duplicateKey(among: metaMembers) {
            throw Self.duplicate(duplicate, in: "in params._meta", id: id)
        }
    }

    private static func duplicate(_ key: String, in place: String, id: [UInt8]?) -> Failure {
        // The key as JSON (escapes kept readable), shortened: it is echoed to the peer.
        let shown = key.unicodeScalars.count > 64 ? String(Substring(key.unicodeScalars.prefix(64))) + "..." : key
        return .invalid("duplicate key \(String(decoding: JSONString.encode(shown), as: UTF8.self)) \(place); each key may appear once", id: id)
    }

    private static func describe(_ failure: JSONScanner.Failure) -> String {
        switch failure {
        case .unexpectedEnd: return "the message ends in the middle of a JSON value"
        case .unexpectedByte(let offset): return "unexpected character at byte \(offset)"
        case .tooDeep: return "nesting deeper than \(JSONScanner.maximumDepth) levels"
        }
    }
}
