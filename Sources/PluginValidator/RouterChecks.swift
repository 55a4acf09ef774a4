#if canImport(Glibc)
import Glibc
#endif
import PluginAPI

/// The router checks, on a fixed set of sample items: `expose` is deterministic, `route` agrees
/// with it, buffers that are too small are handled (MCPH_E_TOO_SMALL with `len` set, then the
/// retry works; nothing written past `cap`), `allow` answers only MCPH_ALLOW or MCPH_DENY, and
/// no call blocks (each is timed and watched, like the transport's `send`).
struct RouterChecks {
    static let limitMs = 50.0
    static let watchdogSeconds = 2.0
    /// Bytes after each output buffer's `cap`, filled with a pattern that must survive the call.
    static let guardBytes = 64

    static let checkIDs = ["router.expose", "router.route", "router.buffers", "router.allow", "router.nonblocking"]

    struct Sample: Sendable {
        let kind: mcph_item_kind
        let backend: String
        let name: String

        var method: String {
            switch kind {
            case MCPH_ITEM_TOOL: return "tools/call"
            case MCPH_ITEM_PROMPT: return "prompts/get"
            default: return "resources/read"
            }
        }

        var shown: String {
            let noun = kind == MCPH_ITEM_TOOL ? "tool" : kind == MCPH_ITEM_PROMPT ? "prompt" : kind == MCPH_ITEM_RESOURCE ? "resource" : "resource template"
            return "\(noun) '\(name)' of '\(backend)'"
        }
    }

    static let samples = [
        Sample(kind: MCPH_ITEM_TOOL, backend: "alpha", name: "echo"),
        Sample(kind: MCPH_ITEM_TOOL, backend: "beta", name: "read_file"),
        Sample(kind: MCPH_ITEM_TOOL, backend: "alpha", name: "a-longer.tool_name-with.several_parts"),
        Sample(kind: MCPH_ITEM_PROMPT, backend: "alpha", name: "greet"),
        Sample(kind: MCPH_ITEM_RESOURCE, backend: "beta", name: "file:///tmp/readme.md"),
        Sample(kind: MCPH_ITEM_RESOURCE_TEMPLATE, backend: "beta", name: "test://items/{id}"),
    ]

    let table: RouterTable
    let state: Unchecked<UnsafeMutableRawPointer?>
    /// The minor the plugin was built against (1.0's "hide" was 1).
    let pluginMinor: UInt16
    let runner: PluginCallRunner
    let record: (CheckResult) -> Void

    /// Runs the checks; false when a call blocked (the plugin must not be called again).
    func run() -> Bool {
        var session = RouterSession(suite: self)
        return session.run()
    }
}

/// What one output buffer held after a call.
struct BufferAnswer: Sendable, Equatable {
    /// `len` as the plugin set it (a size_t; past Int.max reads as negative).
    let length: Int
    /// The bytes written, up to min(len, cap).
    let bytes: [UInt8]
    /// Something was written past `cap`.
    let overflow: Bool

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// An output buffer with guard bytes after its capacity.
private final class GuardedBuffer {
    static let pattern: UInt8 = 0x5A
    let storage: UnsafeMutablePointer<CChar>
    let capacity: Int
    var buf: mcph_buf

    init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(capacity: capacity + RouterChecks.guardBytes)
        storage.initialize(repeating: CChar(bitPattern: Self.pattern), count: capacity + RouterChecks.guardBytes)
        buf = mcph_buf(ptr: storage, cap: capacity, len: 0)
    }

    deinit { storage.deallocate() }

    var answer: BufferAnswer {
        let length = buf.len
        let written = length < 0 ? capacity : min(length, capacity)
        let bytes = (0..<written).map { UInt8(bitPattern: storage[$0]) }
        let overflow = (capacity..<(capacity + RouterChecks.guardBytes)).contains { UInt8(bitPattern: storage[$0]) != Self.pattern }
        return BufferAnswer(length: length, bytes: bytes, overflow: overflow)
    }
}

private struct RouterSession {
    let suite: RouterChecks
    var pending = RouterChecks.checkIDs
    var slowest: (ms: Double, what: String) = (0, "")
    var calls = 0
    var blocked: Blocked?

    init(suite: RouterChecks) { self.suite = suite }

    mutating func report(_ result: CheckResult) {
        pending.removeAll { $0 == result.id }
        suite.record(result)
    }

    // MARK: - Calls

    /// Runs one router call under the watchdog; nil when it blocked (recorded in `blocked`).
    mutating func timed<Value: Sendable>(_ function: String, _ what: String, _ body: @escaping @Sendable () -> Value) -> Value? {
        guard blocked == nil else { return nil }
        switch suite.runner.call(function, limit: RouterChecks.watchdogSeconds, body) {
        case .failure(let failure):
            blocked = failure
            return nil
        case .success(let timed):
            calls += 1
            if timed.ownMilliseconds > slowest.ms { slowest = (timed.ownMilliseconds, "\(function) of \(what)") }
            return timed.value
        }
    }

    mutating func expose(_ sample: RouterChecks.Sample, capacity: Int) -> (status: Int32, out: BufferAnswer)? {
        let expose = Unchecked(suite.table.table.expose!), state = suite.state
        return timed("expose", sample.shown) {
            let out = GuardedBuffer(capacity: capacity)
            var backend = Array(sample.backend.utf8), name = Array(sample.name.utf8)
            let status = backend.withUnsafeMutableBufferPointer { b in
                name.withUnsafeMutableBufferPointer { n in
                    b.withMemoryRebound(to: CChar.self) { bc in
                        n.withMemoryRebound(to: CChar.self) { nc in
                            expose.value(state.value, sample.kind, bc.baseAddress, bc.count, nc.baseAddress, nc.count, &out.buf)
                        }
                    }
                }
            }
            return (status, out.answer)
        }
    }

    struct RouteAnswer: Sendable {
        let decision: mcph_route_decision
        let backend: BufferAnswer
        let name: BufferAnswer
        let message: BufferAnswer
    }

    mutating func route(_ method: String, _ kind: mcph_item_kind, _ name: String, capacities: (Int, Int, Int)) -> RouteAnswer? {
        let route = Unchecked(suite.table.table.route!), state = suite.state
        return timed("route", "'\(name)'") {
            let backendOut = GuardedBuffer(capacity: capacities.0), nameOut = GuardedBuffer(capacity: capacities.1)
            let messageOut = GuardedBuffer(capacity: capacities.2)
            var methodBytes = Array(method.utf8), nameBytes = Array(name.utf8)
            let decision = methodBytes.withUnsafeMutableBufferPointer { m in
                nameBytes.withUnsafeMutableBufferPointer { n in
                    m.withMemoryRebound(to: CChar.self) { mc in
                        n.withMemoryRebound(to: CChar.self) { nc in
                            route.value(state.value, mc.baseAddress, mc.count, kind, nc.baseAddress, nc.count, &backendOut.buf, &nameOut.buf, &messageOut.buf)
                        }
                    }
                }
            }
            return RouteAnswer(decision: decision, backend: backendOut.answer, name: nameOut.answer, message: messageOut.answer)
        }
    }

    /// `allow` for `name` as seen by an authenticated caller (subject and a role) or an anonymous one.
    mutating func allow(_ kind: mcph_item_kind, _ name: String, authenticated: Bool) -> Int32? {
        guard let allowFunction = suite.table.table.allow else { return nil }
        let allow = Unchecked(allowFunction), state = suite.state
        return timed("allow", "'\(name)'") {
            let subject = authenticated ? "validator-alice" : "", frontEnd = authenticated ? "http" : "stdio"
            let role = strdup("dev")!, subjectText = strdup(subject)!, frontEndText = strdup(frontEnd)!, nameText = strdup(name)!
            defer { free(role); free(subjectText); free(frontEndText); free(nameText) }
            var roles: [UnsafePointer<CChar>?] = [UnsafePointer(role)]
            var roleLengths = [3]
            return roles.withUnsafeMutableBufferPointer { r in
                roleLengths.withUnsafeMutableBufferPointer { l in
                    var caller = mcph_caller(struct_size: UInt32(MemoryLayout<mcph_caller>.size),
                                             subject: UnsafePointer(subjectText), subject_len: subject.utf8.count,
                                             roles: authenticated ? UnsafePointer(r.baseAddress) : nil,
                                             role_lens: authenticated ? UnsafePointer(l.baseAddress) : nil,
                                             role_count: authenticated ? 1 : 0, front_end: UnsafePointer(frontEndText), front_end_len: frontEnd.utf8.count)
                    return allow.value(state.value, kind, UnsafePointer(nameText), name.utf8.count, &caller)
                }
            }
        }
    }

    // MARK: - Checks

    mutating func run() -> Bool {
        let exposed = exposeCheck()
        if blocked == nil { routeCheck(exposed) }
        if blocked == nil { buffersCheck(exposed) }
        if blocked == nil { allowCheck(exposed) }
        if let blocked {
            report(.fail("router.nonblocking", blocked.description + "; router functions are called on the host's request path and must never block"))
            for id in pending { suite.record(.skip(id, "not run: \(blocked.function) blocked")) }
            return false
        }
        if slowest.ms > RouterChecks.limitMs {
            report(.fail("router.nonblocking", "\(slowest.what) took \(format(slowest.ms)) ms (limit \(Int(RouterChecks.limitMs)) ms); router functions must never block"))
        } else {
            report(.pass("router.nonblocking", "\(calls) calls, the slowest \(format(slowest.ms)) ms (limit \(Int(RouterChecks.limitMs)) ms; time spent waiting for a CPU not counted)"))
        }
        return true
    }

    /// Each sample exposed twice with a roomy buffer: the same answer both times. Returns the
    /// samples shown, with their exposed names.
    mutating func exposeCheck() -> [(RouterChecks.Sample, String)] {
        var shown: [(RouterChecks.Sample, String)] = []
        var hidden = 0
        var problems: [String] = []
        for sample in RouterChecks.samples {
            guard let first = expose(sample, capacity: 4096), let second = expose(sample, capacity: 4096) else { return shown }
            if first.status != second.status || first.out.bytes != second.out.bytes {
                problems.append("\(sample.shown): '\(first.out.text)' (status \(first.status)) then '\(second.out.text)' (status \(second.status)); expose must be deterministic")
                continue
            }
            if first.out.overflow { problems.append("\(sample.shown): wrote past the buffer's cap") }
            switch first.status {
            case MCPH_EXPOSE_SHOW:
                if first.out.length < 0 || first.out.length > 4096 {
                    problems.append("\(sample.shown): answered SHOW with len \(first.out.length), past the 4096-byte cap")
                } else if first.out.bytes.isEmpty {
                    problems.append("\(sample.shown): exposed under an empty name")
                } else {
                    shown.append((sample, first.out.text))
                }
            case MCPH_EXPOSE_HIDE where suite.pluginMinor >= 1, MCPH_EXPOSE_HIDE_1_0 where suite.pluginMinor == 0:
                hidden += 1
            case MCPH_E_TOO_SMALL:
                problems.append("\(sample.shown): MCPH_E_TOO_SMALL (len \(first.out.length)) with a 4096-byte buffer")
            default:
                problems.append("\(sample.shown): answered \(first.status), neither SHOW (0) nor HIDE (\(suite.pluginMinor == 0 ? 1 : -1)): an error, which hides the item")
            }
        }
        if problems.isEmpty {
            let examples = shown.prefix(3).map { "\($0.0.name) -> \($0.1)" }.joined(separator: ", ")
            report(.pass("router.expose", "\(RouterChecks.samples.count) items exposed twice, the same answers (\(shown.count) shown, \(hidden) hidden\(examples.isEmpty ? "" : ": " + examples))"))
        } else {
            report(.fail("router.expose", summarize(problems)))
        }
        return shown
    }

    /// Routing an exposed name forwards to its backend and original name, or says no opinion.
    mutating func routeCheck(_ exposed: [(RouterChecks.Sample, String)]) {
        var problems: [String] = []
        var forwarded = 0, defaulted = 0
        for (sample, name) in exposed {
            guard let answer = route(sample.method, sample.kind, name, capacities: (256, 4096, 1024)) else { return }
            if answer.backend.overflow || answer.name.overflow || answer.message.overflow {
                problems.append("route('\(name)') wrote past a buffer's cap")
            }
            switch answer.decision {
            case MCPH_ROUTE_DEFAULT:
                defaulted += 1
            case MCPH_ROUTE_FORWARD:
                // An empty out_backend (len 0) is allowed since 1.4: a router later in a chain maps
                // the name back and leaves naming the backend to a router before it.
                let backendNamed = answer.backend.text == sample.backend || answer.backend.length == 0
                if backendNamed && answer.name.text == sample.name {
                    forwarded += 1
                } else {
                    problems.append("route('\(name)') forwards to '\(answer.backend.text)'/'\(answer.name.text)', but expose made '\(name)' of \(sample.shown)")
                }
            case MCPH_ROUTE_REJECT:
                problems.append("route('\(name)') rejects an item expose shows (\(sample.shown)): '\(answer.message.text)'")
            default:
                problems.append("route('\(name)') answered \(answer.decision), not a route decision (0, 1 or 2)")
            }
        }
        guard let unknown = route("tools/call", MCPH_ITEM_TOOL, "mcph-validator-unknown-tool", capacities: (256, 4096, 1024)) else { return }
        if ![MCPH_ROUTE_DEFAULT, MCPH_ROUTE_FORWARD, MCPH_ROUTE_REJECT].contains(unknown.decision) {
            problems.append("route of an unknown name answered \(unknown.decision), not a route decision (0, 1 or 2)")
        }
        if exposed.isEmpty && problems.isEmpty {
            report(.skip("router.route", "no sample item was shown by expose, so there is nothing to route"))
        } else if problems.isEmpty {
            report(.pass("router.route", "\(exposed.count) exposed names: \(forwarded) forwarded to their backend and original name, \(defaulted) left to the host (no opinion)"))
        } else {
            report(.fail("router.route", summarize(problems)))
        }
    }

    /// A 1-byte buffer: expose answers MCPH_E_TOO_SMALL with the needed `len`, and the retry with
    /// that size gives the name; route answers with `len` set (or no opinion), never a truncated
    /// or wrong answer. Nothing is written past `cap`.
    mutating func buffersCheck(_ exposed: [(RouterChecks.Sample, String)]) {
        var problems: [String] = []
        var tried = 0
        for (sample, name) in exposed where name.utf8.count > 1 {
            tried += 1
            let needed = name.utf8.count
            guard let tiny = expose(sample, capacity: 1) else { return }
            if tiny.out.overflow { problems.append("expose(\(sample.shown)) wrote past a 1-byte cap") }
            if tiny.status != MCPH_E_TOO_SMALL {
                problems.append("expose(\(sample.shown)) with a 1-byte buffer answered \(tiny.status)\(tiny.status == MCPH_EXPOSE_SHOW ? " ('\(tiny.out.text)', len \(tiny.out.length))" : "") instead of MCPH_E_TOO_SMALL (the name needs \(needed) bytes)")
                continue
            }
            if tiny.out.length != needed {
                problems.append("expose(\(sample.shown)) answered MCPH_E_TOO_SMALL with len \(tiny.out.length), but the name needs \(needed) bytes")
                continue
            }
            guard let retry = expose(sample, capacity: needed) else { return }
            if retry.status != MCPH_EXPOSE_SHOW || retry.out.text != name || retry.out.overflow {
                problems.append("expose(\(sample.shown)) retried with len \(needed) answered \(retry.status) '\(retry.out.text)' instead of '\(name)'")
            }

            // route with 1-byte buffers.
            guard let full = route(sample.method, sample.kind, name, capacities: (256, 4096, 1024)) else { return }
            guard full.decision == MCPH_ROUTE_FORWARD else { continue }
            guard let small = route(sample.method, sample.kind, name, capacities: (1, 1, 1)) else { return }
            if small.backend.overflow || small.name.overflow || small.message.overflow {
                problems.append("route('\(name)') wrote past a 1-byte cap")
            }
            switch small.decision {
            case MCPH_ROUTE_DEFAULT:
                break // no opinion when the answer does not fit: the host uses its own mapping
            case MCPH_ROUTE_FORWARD:
                let fits = small.backend.length <= 1 && small.name.length <= 1
                if fits && (small.backend.text != full.backend.text || small.name.text != full.name.text) {
                    problems.append("route('\(name)') with 1-byte buffers forwarded to '\(small.backend.text)'/'\(small.name.text)' (truncated?) instead of setting len to the sizes needed")
                } else if small.backend.length < 0 || small.name.length < 0 || small.backend.length > 1 << 20 || small.name.length > 1 << 20 {
                    problems.append("route('\(name)') with 1-byte buffers asked for \(small.backend.length) and \(small.name.length) bytes (the host offers at most 1 MiB)")
                } else if !fits {
                    guard let again = route(sample.method, sample.kind, name, capacities: (max(1, small.backend.length), max(1, small.name.length), 1)) else { return }
                    if again.decision != MCPH_ROUTE_FORWARD || again.backend.text != full.backend.text || again.name.text != full.name.text {
                        problems.append("route('\(name)') retried with the lengths it asked for (\(small.backend.length), \(small.name.length)) did not give its answer back")
                    }
                }
            default:
                problems.append("route('\(name)') with 1-byte buffers answered \(small.decision) instead of FORWARD with len set (or no opinion)")
            }
        }
        if tried == 0 {
            report(.skip("router.buffers", "no exposed name longer than 1 byte to try"))
        } else if problems.isEmpty {
            report(.pass("router.buffers", "\(tried) names: 1-byte buffers get MCPH_E_TOO_SMALL with len set, the retry works; route handles them too; nothing written past cap"))
        } else {
            report(.fail("router.buffers", summarize(problems)))
        }
    }

    /// `allow` (ABI 1.4, optional) answers MCPH_ALLOW or MCPH_DENY, the same way twice.
    mutating func allowCheck(_ exposed: [(RouterChecks.Sample, String)]) {
        guard suite.table.table.allow != nil else {
            report(.skip("router.allow", "no allow function (ABI 1.4; absent means everything is allowed)"))
            return
        }
        var problems: [String] = []
        var allowed = 0, denied = 0
        for (sample, name) in exposed {
            for authenticated in [true, false] {
                guard let first = allow(sample.kind, name, authenticated: authenticated),
                      let second = allow(sample.kind, name, authenticated: authenticated) else { return }
                let who = authenticated ? "subject 'validator-alice'" : "an anonymous caller"
                if first != MCPH_ALLOW && first != MCPH_DENY {
                    problems.append("allow('\(name)') for \(who) answered \(first); only MCPH_ALLOW (0) or MCPH_DENY (-1) (anything else is logged and denies)")
                } else if first != second {
                    problems.append("allow('\(name)') for \(who) answered \(first), then \(second)")
                } else if first == MCPH_ALLOW {
                    allowed += 1
                } else {
                    denied += 1
                }
            }
        }
        if problems.isEmpty {
            report(.pass("router.allow", "\(allowed) allowed, \(denied) denied, for an authenticated and an anonymous caller; the same answers twice"))
        } else {
            report(.fail("router.allow", summarize(problems)))
        }
    }
}
