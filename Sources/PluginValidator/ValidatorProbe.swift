#if canImport(Glibc)
import Glibc
#endif
import Host
import Locking
import Logging
import PluginAPI

/// The child side of the validator's probes (see `ProbeProcess`): `mcp-host validate-plugin FILE
/// --probe KIND` runs one of these in a fresh process and prints its findings on stdout.
public enum ValidatorProbe {
    /// The host's own loader (`PluginLoader`, as `mcp-host serve` uses it) on the one library.
    public static let loader = "loader"
    /// An ABI 1.0 host: `mcph_host` and `mcph_conn_callbacks` declared at their 1.0 sizes, the
    /// bytes after them poisoned; the plugin must still work.
    public static let oldHost = "old-host"

    /// Runs the probe `kind`; returns the exit status (0: passed, 1: failed, 2: unknown probe).
    public static func run(kind: String, file: String, connectionConfig: [UInt8]?, timeout: Double) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        switch kind {
        case loader: return runLoader(file)
        case oldHost: return runOldHost(file, connectionConfig: connectionConfig, timeout: timeout)
        default:
            say("fail unknown probe '\(kind)'")
            return 2
        }
    }

    /// Announces the next step and arms the watchdog: a step still running after `limit` seconds
    /// ends the probe with "fail STEP did not return within N ms" (the plugin blocks there).
    static func stage(_ name: String, limit: Double) {
        say("stage \(name)")
        StageWatch.shared.arm(name, limit: limit)
    }

    /// One line on stdout, written at once (a crash right after keeps it).
    static func say(_ line: String) {
        let bytes = Array((line.replacing("\n", with: " ") + "\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            done += n
        }
    }

    private static func runLoader(_ file: String) -> Int32 {
        stage("load", limit: 40)
        let logger = Logger(label: "mcp-host.validate-plugin.loader") { _ in SwiftLogNoOpLogHandler() }
        let registry = PluginLoader(logger: logger).load(library: file)
        if let rejection = registry.rejected.first {
            say("rejected \(rejection.reason)")
            return 1
        }
        let ids = registry.plugins.map(\.info.id).joined(separator: ",")
        stage("deinit", limit: 10)
        registry.endIdlePlugins()
        StageWatch.shared.disarm()
        say("accepted \(ids)")
        return 0
    }

    private static func runOldHost(_ file: String, connectionConfig: [UInt8]?, timeout: Double) -> Int32 {
        stage("dlopen", limit: 30)
        let library: PluginLibrary
        do {
            library = try PluginLibrary.open(file) { _ in }
        } catch {
            say("fail \(error.check.detail)")
            return 1
        }
        guard let initFunction = library.descriptor.`init`, let getInterface = library.descriptor.get_interface else {
            say("fail the descriptor lacks init or get_interface")
            return 1
        }
        let logs = PluginLogSink()
        stage("init", limit: 30)
        var state: UnsafeMutableRawPointer?
        var error = [CChar](repeating: 0, count: 512)
        let status = initFunction(ValidatorHost.old(sink: logs), &state, &error, error.count)
        guard status == MCPH_OK else {
            say("fail init with an ABI 1.0 host failed (status \(status)): \(cText(error))")
            return 1
        }
        var done = ["init"]

        if library.isRouter {
            stage("get_interface", limit: 10)
            guard let raw = getInterface(state, MCPH_IFACE_ROUTER_V1), Int(raw.load(as: UInt32.self)) >= ABISizes.router else {
                say("fail no usable router table")
                return 1
            }
            let table = ABISizes.read(raw, declared: raw.load(as: UInt32.self), as: mcph_router_v1.self)
            if let expose = table.expose {
                stage("expose", limit: TransportChecks.watchdogSeconds)
                var storage = [CChar](repeating: 0, count: 4096)
                let answer = storage.withUnsafeMutableBufferPointer { out -> Int32 in
                    var buf = mcph_buf(ptr: out.baseAddress, cap: out.count, len: 0)
                    return expose(state, MCPH_ITEM_TOOL, "alpha", 5, "echo", 4, &buf)
                }
                done.append("expose (answer \(answer))")
            }
            if let route = table.route {
                stage("route", limit: TransportChecks.watchdogSeconds)
                var b = [CChar](repeating: 0, count: 256), n = [CChar](repeating: 0, count: 4096), m = [CChar](repeating: 0, count: 1024)
                let decision = b.withUnsafeMutableBufferPointer { bp in
                    n.withUnsafeMutableBufferPointer { np in
                        m.withUnsafeMutableBufferPointer { mp -> Int32 in
                            var bb = mcph_buf(ptr: bp.baseAddress, cap: bp.count, len: 0)
                            var nb = mcph_buf(ptr: np.baseAddress, cap: np.count, len: 0)
                            var mb = mcph_buf(ptr: mp.baseAddress, cap: mp.count, len: 0)
                            return route(state, "tools/call", 10, MCPH_ITEM_TOOL, "alpha__echo", 11, &bb, &nb, &mb)
                        }
                    }
                }
                done.append("route (decision \(decision))")
            }
        }

        if library.isTransport {
            stage("get_interface", limit: 10)
            guard let raw = getInterface(state, MCPH_IFACE_TRANSPORT_V1), Int(raw.load(as: UInt32.self)) >= ABISizes.transport else {
                say("fail no usable transport table")
                return 1
            }
            let table = ABISizes.read(raw, declared: raw.load(as: UInt32.self), as: mcph_transport_v1.self)
            if let connectionConfig, let open = table.open, let send = table.send, let close = table.close, let destroy = table.destroy {
                guard connection(open: open, send: send, close: close, destroy: destroy, state: state, config: connectionConfig,
                                 logs: logs, timeout: timeout) else { return 1 }
                done.append("a connection (open, OPENED, initialize answered, close, one terminal event, destroy) with 1.0-size callbacks")
            }
        }

        if let deinitFunction = library.descriptor.deinit {
            stage("deinit", limit: 10)
            deinitFunction(state)
            done.append("deinit")
        }
        StageWatch.shared.disarm()
        say("pass " + done.joined(separator: ", "))
        return 0
    }

    /// One connection with callbacks of the 1.0 size (`on_related_message` past it must stay unseen).
    private static func connection(
        open: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, UnsafePointer<mcph_conn_callbacks>?,
                              UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<CChar>?, Int) -> mcph_status,
        send: @convention(c) (UnsafeMutableRawPointer?, mcph_bytes) -> mcph_status,
        close: @convention(c) (UnsafeMutableRawPointer?, UInt32) -> mcph_status,
        destroy: @convention(c) (UnsafeMutableRawPointer?) -> Void,
        state: UnsafeMutableRawPointer?, config: [UInt8], logs: PluginLogSink, timeout: Double
    ) -> Bool {
        let before = ProcessTable.children()
        let probe = ConnectionProbe(logs: logs, declaredSize: ABISizes.callbacks)
        stage("open", limit: TransportChecks.watchdogSeconds)
        var error = [CChar](repeating: 0, count: 1024)
        var conn: UnsafeMutableRawPointer?
        let status = config.withUnsafeBufferPointer { json in
            json.withMemoryRebound(to: CChar.self) { open(state, $0.baseAddress, $0.count, probe.callbacks, &conn, &error, error.count) }
        }
        guard status == MCPH_OK, let conn else {
            say("fail open with 1.0-size callbacks answered \(statusName(status)): \(cText(error))")
            return false
        }
        var failures: [String] = []
        stage("opened", limit: timeout + 5)
        let (opened, _) = probe.wait(seconds: timeout) { $0.opened > 0 || $0.terminal > 0 }
        if opened.opened > 0 && opened.terminal == 0 {
            stage("send", limit: TransportChecks.watchdogSeconds)
            let request = #"{"jsonrpc":"2.0","id":"mcph-validator-old-host","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcp-host validate-plugin (ABI 1.0 host)","version":"1"}}}"#
            let sent = Array(request.utf8).withUnsafeBufferPointer { send(conn, mcph_bytes(ptr: $0.baseAddress, len: $0.count, release: nil, release_ctx: nil)) }
            stage("initialize", limit: timeout + 5)
            let needle = Array("\"mcph-validator-old-host\"".utf8)
            let (_, answered) = probe.wait(seconds: timeout) { state in state.messages.contains { containsBytes($0, needle) } || state.terminal > 0 }
            if sent != MCPH_OK || !answered || probe.snapshot.terminal > 0 { failures.append("initialize was not answered (send: \(statusName(sent)))") }
        } else {
            failures.append("no OPENED with 1.0-size callbacks: \(probe.terminalEvent.map { "\(eventName($0.event)) \($0.code) \($0.detail)" } ?? "nothing within \(format(timeout)) s")")
        }
        stage("close", limit: TransportChecks.watchdogSeconds)
        _ = close(conn, TransportChecks.closeGraceMs)
        stage("terminal event", limit: Double(TransportChecks.closeGraceMs) / 1000 + TransportChecks.closeMarginSeconds + 5)
        _ = probe.wait(seconds: Double(TransportChecks.closeGraceMs) / 1000 + TransportChecks.closeMarginSeconds) { $0.terminal > 0 }
        stage("destroy", limit: TransportChecks.destroySeconds)
        destroy(conn)
        probe.markDestroyed()
        StageWatch.shared.disarm()
        let seen = probe.snapshot
        if seen.terminal != 1 { failures.append("\(seen.terminal) terminal events after close (expected 1)") }
        if seen.relatedCount > 0 {
            failures.append("on_related_message called \(seen.relatedCount) time(s) although the host's struct_size (\(ABISizes.callbacks)) ends before it; deliver through on_message")
        }
        let left = ProcessTable.leftovers(before: before, group: nil)
        if !left.isEmpty { ProcessTable.clean(left, group: nil) }
        for failure in failures { say("fail \(failure)") }
        return failures.isEmpty
    }
}

func containsBytes(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    return (0...(haystack.count - needle.count)).contains { start in
        haystack[start] == needle[0] && haystack[start..<(start + needle.count)].elementsEqual(needle)
    }
}

/// The probe's watchdog: one thread that ends the process when the current step overruns its
/// limit (a blocked call into the plugin cannot be interrupted; the process can).
private final class StageWatch: Sendable {
    static let shared = StageWatch()

    private let current = Locked<(name: String, deadline: UInt64, limitMs: Int)?>(nil)

    private init() {
        startDetachedThread { [self] in
            while true {
                var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
                nanosleep(&pause, nil)
                if let overrun = current.withLock({ step in step.flatMap { MonotonicClock.nanoseconds() > $0.deadline ? $0 : nil } }) {
                    ValidatorProbe.say("fail \(overrun.name) did not return within \(overrun.limitMs) ms: it blocks")
                    _exit(1)
                }
            }
        }
    }

    func arm(_ name: String, limit: Double) {
        let deadline = MonotonicClock.deadline(after: limit, from: MonotonicClock.nanoseconds())
        current.withLock { $0 = (name, deadline, Int(min(max(0, limit * 1000), 1e9))) }
    }

    func disarm() {
        current.withLock { $0 = nil }
    }
}
