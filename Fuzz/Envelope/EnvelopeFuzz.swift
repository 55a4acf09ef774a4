// libFuzzer target: the JSON-RPC envelope scanner, the byte splicer and JSON string escaping
// (Sources/Host/Protocol). Built by scripts/fuzz together with exactly those pure files:
//   swiftc -parse-as-library -sanitize=fuzzer,address -O Fuzz/Envelope/EnvelopeFuzz.swift Sources/Host/Protocol/*.swift
//
// Each input is one message as a client or backend could write it. Beyond "never traps", every run
// checks what the forwarding path relies on:
// - every range the scanner or the envelope reports lies inside the bytes (and inside its parent);
// - a parsed envelope's kind agrees with its members (method xor response, id on requests);
// - splicing the id out (replaced by a host id) and back in reproduces the input byte for byte,
//   and the message with the host id still parses as the same kind, method and params;
// - the raw id bytes are one JSON string or integer (7 and "7" stay distinct);
// - `JSONString.encode` of any text (the method, any decoded string, the input as text) scans as
//   exactly one JSON string that decodes back to the same text and has no raw control byte;
// - `JSONRPC.error`/`result` built with the envelope's id parse back as responses with that id;
// - a parsed envelope has no duplicate key (compared as decoded text) at the top level, in `params`
//   or in `params._meta`, and its id, method and params are the members `member` finds.
// A violated property calls `fail`, which traps so libFuzzer records the input as a crash.

@inline(never)
func fail(_ what: String, _ bytes: [UInt8]) -> Never {
    let shown = String(decoding: bytes.prefix(300), as: UTF8.self)
    fatalError("fuzz property violated: \(what)\ninput (\(bytes.count) bytes): \(shown)")
}

func check(_ condition: Bool, _ what: @autoclosure () -> String, _ bytes: [UInt8]) {
    if !condition { fail(what(), bytes) }
}

func inside(_ inner: Range<Int>, _ outer: Range<Int>) -> Bool {
    inner.lowerBound >= outer.lowerBound && inner.upperBound <= outer.upperBound
}

/// Walks every value of the document (bounded by the scanner's own depth limit), checking that
/// each member and element lies inside its parent and that every string decodes and re-encodes.
func walk(_ scanner: JSONScanner, _ range: Range<Int>, depth: Int, _ input: [UInt8]) {
    check(inside(range, 0..<scanner.bytes.count) && !range.isEmpty, "value range \(range) outside the bytes", input)
    guard depth < JSONScanner.maximumDepth + 2 else { fail("walk deeper than the scanner's bound", input) }
    switch scanner.bytes[range.lowerBound] {
    case UInt8(ascii: "{"):
        guard let members = try? scanner.members(ofObject: range) else {
            fail("members of an accepted object could not be read", input)
        }
        var previousEnd = range.lowerBound
        for member in members {
            check(inside(member.key, range) && inside(member.value, range), "member outside its object", input)
            check(member.key.lowerBound > previousEnd && member.value.lowerBound >= member.key.upperBound,
                  "members out of order", input)
            previousEnd = member.value.upperBound
            let key = scanner.slice(member.key)
            check(validEscapes(key), "an accepted key has an invalid escape (RFC 8259 section 7)", input)
            // Every key that is valid UTF-8 can be found again by its decoded name (first occurrence
            // wins for duplicates, which Envelope refuses where it reads). Invalid UTF-8 decodes
            // to U+FFFD, which names a different key.
            let name = JSONString.decode(key)
            if String(validating: key, as: UTF8.self) == nil || name.unicodeScalars.contains("\u{FFFD}") {
                // not addressable by name; nothing to check
            } else if let found = try? scanner.member(name, inObject: range) {
                check(JSONString.decode(scanner.slice(found.key)) == name, "member(\(name)) found another key", input)
                check(found.key.lowerBound <= member.key.lowerBound, "member(\(name)) found a later duplicate, not the first", input)
            } else {
                fail("member(\(name)) not found in its own object", input)
            }
            walk(scanner, member.value, depth: depth + 1, input)
        }
    case UInt8(ascii: "["):
        guard let elements = try? scanner.elements(ofArray: range) else {
            fail("elements of an accepted array could not be read", input)
        }
        var previousEnd = range.lowerBound
        for element in elements {
            check(inside(element, range) && element.lowerBound > previousEnd, "element outside its array or out of order", input)
            previousEnd = element.upperBound
            walk(scanner, element, depth: depth + 1, input)
        }
    case UInt8(ascii: "\""):
        guard let text = scanner.string(at: range) else { fail("an accepted string did not decode", input) }
        check(validEscapes(scanner.slice(range).dropFirst().dropLast()), "an accepted string has an invalid escape (RFC 8259 section 7)", input)
        roundTrip(text, input)
    default:
        // A literal or number: exactly one value, nothing more.
        guard let again = try? JSONScanner(Array(scanner.slice(range))).documentRange() else {
            fail("a scalar does not scan on its own", input)
        }
        check(again.count == range.count, "a scalar scans to a different length on its own", input)
    }
}

/// RFC 8259 section 7: after a backslash comes one of `"\/bfnrt`, or `u` and four hex digits.
func validEscapes(_ content: ArraySlice<UInt8>) -> Bool {
    var i = content.startIndex
    while i < content.endIndex {
        guard content[i] == UInt8(ascii: "\\") else { i += 1; continue }
        guard i + 1 < content.endIndex else { return false }
        switch content[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 2
        case UInt8(ascii: "u"):
            guard i + 6 <= content.endIndex,
                  content[(i + 2)..<(i + 6)].allSatisfy({ (48...57).contains($0) || (65...70).contains($0) || (97...102).contains($0) })
            else { return false }
            i += 6
        default:
            return false
        }
    }
    return true
}

/// `JSONString.encode` then scanning gives back the same text, on one line.
func roundTrip(_ text: String, _ input: [UInt8]) {
    let encoded = JSONString.encode(text)
    check(!encoded.contains(where: { $0 < 0x20 }), "encode left a raw control byte", input)
    let scanner = JSONScanner(encoded)
    guard let range = try? scanner.documentRange() else { fail("encode produced something that does not scan", input) }
    check(range == 0..<encoded.count, "encode produced more than one string", input)
    check(scanner.string(at: range) == text, "encode/decode changed the text \(text.debugDescription)", input)
}

/// True when two keys of the object at `range` decode to the same text (byte for byte, as a
/// peer's parser compares them; not `String ==`, which equates canonically equivalent text).
func hasDuplicateKey(_ scanner: JSONScanner, _ range: Range<Int>) -> Bool {
    guard let members = try? scanner.members(ofObject: range) else { return false }
    var seen = Set<[UInt8]>()
    return members.contains { !seen.insert(Array(JSONString.decode(scanner.slice($0.key)).utf8)).inserted }
}

func checkEnvelope(_ envelope: Envelope, _ input: [UInt8]) {
    let all = 0..<input.count
    check(envelope.bytes == input, "the envelope's bytes are not the input", input)
    check(inside(envelope.object, all), "object range outside the bytes", input)
    if let id = envelope.id { check(inside(id, envelope.object), "id range outside the object", input) }
    if let params = envelope.params { check(inside(params, envelope.object), "params range outside the object", input) }
    switch envelope.kind {
    case .request: check(envelope.id != nil && envelope.method != nil, "a request without id or method", input)
    case .notification: check(envelope.id == nil && envelope.method != nil, "a notification with an id or without method", input)
    case .response:
        check(envelope.id != nil && envelope.method == nil, "a response without id or with a method", input)
        check((envelope.member("result") == nil) != (envelope.member("error") == nil), "a response needs exactly one of result and error", input)
    }
    if let method = envelope.method { roundTrip(method, input) }
    // Where the host reads or splices, every key is unique, so the host and any peer (whichever
    // duplicate its parser keeps) read the same member; and parse reads what member finds.
    let scanner = envelope.scanner
    check(!hasDuplicateKey(scanner, envelope.object), "a parsed envelope has a duplicate top-level key", input)
    check(envelope.id == envelope.member("id")?.value, "parse and member(\"id\") disagree", input)
    if envelope.kind != .response {
        check(envelope.params == envelope.member("params")?.value, "parse and member(\"params\") disagree", input)
        check(envelope.method == envelope.member("method").flatMap { scanner.string(at: $0.value) },
              "parse and member(\"method\") disagree", input)
    }
    if let params = envelope.params, envelope.kind != .response, input[params.lowerBound] == UInt8(ascii: "{") {
        check(!hasDuplicateKey(scanner, params), "a parsed envelope has a duplicate key in params", input)
        if let meta = envelope.param("_meta"), input[meta.value.lowerBound] == UInt8(ascii: "{") {
            check(!hasDuplicateKey(scanner, meta.value), "a parsed envelope has a duplicate key in params._meta", input)
        }
    }
    if let token = envelope.param("_meta", "progressToken") {
        check(inside(token.value, envelope.params ?? 0..<0), "progressToken outside params", input)
    }
    if let name = envelope.param("name") {
        check(inside(name.value, envelope.params ?? 0..<0), "params.name outside params", input)
    }

    guard let id = envelope.id, let idBytes = envelope.idBytes else { return }
    // The id on its own is exactly one JSON string or integer (or null on an error response).
    let idScanner = JSONScanner(idBytes)
    check((try? idScanner.documentRange()) == 0..<idBytes.count, "the id bytes are not one JSON value", input)
    let first = idBytes[0]
    check(first == UInt8(ascii: "\"") || first == UInt8(ascii: "-") || (48...57).contains(first)
          || (idBytes == Array("null".utf8) && envelope.kind == .response),
          "an id that is neither string nor integer was accepted", input)

    // Splice the id out (as the multiplexer does toward a backend), then back (toward the client).
    let hostID = Array("4294967297".utf8)
    let outbound = ByteSplice.apply([.init(id, hostID)], to: input)
    guard let forwarded = try? Envelope.parse(outbound) else { fail("the message with the host's id does not parse", input) }
    check(forwarded.kind == envelope.kind && forwarded.method == envelope.method, "splicing the id changed kind or method", input)
    check(forwarded.idBytes == hostID, "the spliced id does not read back", input)
    if let p0 = envelope.params, let p1 = forwarded.params {
        check(input[p0] == outbound[p1], "splicing the id changed params", input)
    } else {
        check(envelope.params == nil && forwarded.params == nil, "splicing the id lost or added params", input)
    }
    let back = ByteSplice.apply([.init(forwarded.id!, idBytes)], to: outbound)
    check(back == input, "id out and back in did not reproduce the input byte for byte", input)

    // Two edits at once (id and progress token), in either order, still leave all else untouched.
    if let token = envelope.param("_meta", "progressToken"), token.value.upperBound <= id.lowerBound || token.value.lowerBound >= id.upperBound {
        let a = ByteSplice.apply([.init(id, hostID), .init(token.value, Array("1".utf8))], to: input)
        let b = ByteSplice.apply([.init(token.value, Array("1".utf8)), .init(id, hostID)], to: input)
        check(a == b, "edit order changed the result", input)
        check(a.count == input.count - id.count - token.value.count + hostID.count + 1, "edits changed the length wrongly", input)
    }

    // What the host writes with this id parses back as a response carrying the same id bytes.
    if envelope.kind == .request {
        let error = JSONRPC.error(id: idBytes, code: -32601, message: envelope.method ?? "")
        guard let parsed = try? Envelope.parse(error) else { fail("JSONRPC.error with this id does not parse", input) }
        check(parsed.kind == .response && parsed.idBytes == idBytes, "JSONRPC.error lost the id", input)
        let result = JSONRPC.result(id: idBytes, result: Array("{}".utf8))
        guard let parsedResult = try? Envelope.parse(result) else { fail("JSONRPC.result with this id does not parse", input) }
        check(parsedResult.idBytes == idBytes, "JSONRPC.result lost the id", input)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))

    // Any bytes as text survive encode/decode (invalid UTF-8 becomes U+FFFD first, as String does).
    roundTrip(String(decoding: input, as: UTF8.self), input)
    // Decoding arbitrary string content never traps, and decode is idempotent after one re-encode.
    let decoded = JSONString.decode(input)
    let encoded = JSONString.encode(decoded)
    check(JSONString.decode(encoded.dropFirst().dropLast()) == decoded, "decode(encode(decode(x))) != decode(x)", input)

    let scanner = JSONScanner(input)
    if let document = try? scanner.documentRange() {
        walk(scanner, document, depth: 0, input)
    }

    do {
        let envelope = try Envelope.parse(input)
        checkEnvelope(envelope, input)
    } catch let failure {
        check(failure.code == -32700 || failure.code == -32600, "an unexpected error code \(failure.code)", input)
        if let id = failure.id {
            check((try? JSONScanner(id).documentRange()) != nil, "an error's id is not JSON", input)
        }
        // The error the host writes back parses as a response, whatever the input was.
        let reply = JSONRPC.error(id: failure.id, code: failure.code, message: failure.message)
        check((try? Envelope.parse(reply))?.kind == .response, "the error reply to a bad message is not a response", input)
    }
    return 0
}
