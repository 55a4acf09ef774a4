// libFuzzer target: the HTTP front-end's request validation (Sources/Host/FrontEnds/HTTP/
// RequestValidation.swift, pure), compiled by scripts/fuzz with Sources/Host/Protocol/*.swift:
//   swiftc -parse-as-library -sanitize=fuzzer,address -O Fuzz/HTTP/*.swift \
//     Sources/Host/FrontEnds/HTTP/RequestValidation.swift Sources/Host/Protocol/*.swift
//
// An input is an HTTP/1.1-like request: "METHOD TARGET\nName: value\n...\n\nBODY" (CR before LF
// optional); any bytes go, the split is lenient. Each input is validated under an open policy and
// a strict one (bearer token, one extra origin, 64-byte bodies). Properties, beyond "never traps":
// - the verdict is deterministic, and header names are case-insensitive (same verdict with every
//   ASCII name upper-cased);
// - a rejection has a status in {400,401,403,404,405,406,413,415}, a message, `Allow` exactly on
//   405, a challenge only on 401, and a JSON-RPC id (when given) that is one JSON string or integer;
// - with tokens configured and no exact "Authorization: Bearer <token>", never accept;
// - an Origin that is neither loopback-looking nor configured is never accepted;
// - a POST body over the limit is never accepted;
// - an accepted streamable POST carries the body's own envelope, and unless it is `initialize`, a
//   valid session id (1...256 bytes of 0x21...0x7E) and a supported protocol version (when given);
//   every other accepted session id is valid too.

@inline(never)
func fail(_ what: String, _ bytes: [UInt8]) -> Never {
    let shown = String(decoding: bytes.prefix(400), as: UTF8.self)
    fatalError("fuzz property violated: \(what)\ninput (\(bytes.count) bytes): \(shown)")
}

func check(_ condition: Bool, _ what: @autoclosure () -> String, _ bytes: [UInt8]) {
    if !condition { fail(what(), bytes) }
}

struct Request {
    var method = ""
    var target = ""
    var headers: [(String, String)] = []
    var body: [UInt8] = []
}

func parseRequest(_ input: [UInt8]) -> Request {
    var request = Request()
    // Head and body split at the first empty line.
    var headEnd = input.count, bodyStart = input.count
    var i = 0
    while i + 1 < input.count {
        if input[i] == 0x0A && input[i + 1] == 0x0A { headEnd = i; bodyStart = i + 2; break }
        if i + 3 < input.count, input[i] == 0x0D, input[i + 1] == 0x0A, input[i + 2] == 0x0D, input[i + 3] == 0x0A {
            headEnd = i; bodyStart = i + 4; break
        }
        i += 1
    }
    request.body = Array(input[bodyStart...])
    var lines = input[..<headEnd].split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> String in
        var line = line
        if line.last == 0x0D { line = line.dropLast() }
        return String(decoding: line, as: UTF8.self)
    }
    guard !lines.isEmpty else { return request }
    let first = lines.removeFirst()
    if let space = first.firstIndex(of: " ") {
        request.method = String(first[..<space])
        request.target = String(first[first.index(after: space)...])
    } else {
        request.method = first
    }
    for line in lines {
        guard let colon = line.firstIndex(of: ":") else { request.headers.append((line, "")); continue }
        let value = line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
        request.headers.append((String(line[..<colon]), String(value)))
    }
    return request
}

/// A verdict as text, for comparing two verdicts (HTTPVerdict is not Equatable: it holds an Envelope).
func describe(_ verdict: HTTPVerdict) -> String {
    switch verdict {
    case .reject(let r):
        return "reject \(r.status) \(r.message) \(String(describing: r.jsonRPCCode)) \(String(describing: r.jsonRPCID)) \(String(describing: r.allow)) \(r.challenge)"
    case .accept(let route):
        switch route {
        case .streamablePost(let envelope, let session, let version, let json, let sse):
            return "post \(envelope.bytes) \(envelope.kind) \(String(describing: envelope.idBytes)) \(String(describing: envelope.method)) \(String(describing: session)) \(String(describing: version)) \(json) \(sse)"
        case .streamableGet(let session): return "get \(session)"
        case .streamableDelete(let session): return "delete \(session)"
        case .legacyOpen: return "legacy-open"
        case .legacyPost(let session): return "legacy-post \(session)"
        case .health: return "health"
        case .metrics: return "metrics"
        }
    }
}

func validSession(_ id: String) -> Bool {
    let bytes = Array(id.utf8)
    return (1...256).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
}

let supported = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
let token = "secret-token"
let policies: [(name: String, policy: HTTPValidationPolicy, tokens: [String], origins: Set<String>)] = [
    ("open", HTTPValidationPolicy(supportedVersions: supported), [], []),
    ("strict", HTTPValidationPolicy(allowedOrigins: ["https://app.example"], bearerTokens: [token], maxBodyBytes: 64,
                                    supportedVersions: supported), [token], ["https://app.example"]),
]

func values(_ headers: [(String, String)], _ name: String) -> [String] {
    headers.filter { $0.0.lowercased() == name }.map(\.1)
}

func checkVerdict(_ verdict: HTTPVerdict, _ request: Request, tokens: [String], origins: Set<String>, maxBody: Int, _ input: [UInt8]) {
    switch verdict {
    case .reject(let r):
        check([400, 401, 403, 404, 405, 406, 413, 415].contains(r.status), "unexpected status \(r.status)", input)
        check(!r.message.isEmpty, "a rejection without a message", input)
        check((r.allow != nil) == (r.status == 405), "Allow header on a non-405 or missing on a 405", input)
        check(!r.challenge || r.status == 401, "a challenge on a non-401", input)
        if let code = r.jsonRPCCode { check(code == -32700 || code == -32600, "unexpected JSON-RPC code \(code)", input) }
        if let id = r.jsonRPCID {
            check((try? JSONScanner(id).documentRange()) == 0..<id.count, "the rejection's JSON-RPC id is not one JSON value", input)
            let first = id[0]
            check(first == UInt8(ascii: "\"") || first == UInt8(ascii: "-") || (48...57).contains(first),
                  "the rejection's JSON-RPC id is neither a string nor an integer", input)
        }
    case .accept(let route):
        if !tokens.isEmpty {
            let auth = values(request.headers, "authorization")
            check(auth.count == 1 && tokens.contains(where: { "Bearer " + $0 == auth[0] }), "accepted without a valid bearer token", input)
        }
        for origin in values(request.headers, "origin") where !origins.contains(origin) {
            check(origin.contains("localhost") || origin.contains("127.") || origin.contains("::1"),
                  "accepted a foreign Origin \(origin)", input)
        }
        switch route {
        case .streamablePost(let envelope, let session, let version, _, _):
            check(request.method == "POST", "a streamable POST route for \(request.method)", input)
            check(request.body.count <= maxBody, "accepted a body over the limit", input)
            check(envelope.bytes == request.body, "the envelope is not the body", input)
            let isInitialize = envelope.kind == .request && envelope.method == "initialize"
            if !isInitialize {
                guard let session else { fail("a non-initialize POST accepted without a session", input) }
                check(validSession(session), "accepted a malformed session id", input)
                if let version { check(supported.contains(version), "accepted an unsupported protocol version", input) }
            }
        case .legacyPost(let session):
            check(request.body.count <= maxBody, "accepted a legacy body over the limit", input)
            check(validSession(session), "accepted a malformed legacy session id", input)
        case .streamableGet(let session), .streamableDelete(let session):
            check(validSession(session), "accepted a malformed session id", input)
        case .legacyOpen, .health, .metrics:
            break
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let request = parseRequest(input)
    let asciiNames = request.headers.allSatisfy { $0.0.utf8.allSatisfy { $0 < 0x80 } }
    for (_, policy, tokens, origins) in policies {
        let verdict = RequestValidation.validate(method: request.method, target: request.target, headers: request.headers,
                                                 body: request.body, policy: policy)
        let again = RequestValidation.validate(method: request.method, target: request.target, headers: request.headers,
                                               body: request.body, policy: policy)
        let text = describe(verdict)
        check(text == describe(again), "the verdict is not deterministic", input)
        if asciiNames {
            let upper = request.headers.map { ($0.0.uppercased(), $0.1) }
            let shouted = RequestValidation.validate(method: request.method, target: request.target, headers: upper,
                                                     body: request.body, policy: policy)
            check(text == describe(shouted), "header names are not case-insensitive", input)
        }
        checkVerdict(verdict, request, tokens: tokens, origins: origins, maxBody: policy.maxBodyBytes, input)
    }
    return 0
}
