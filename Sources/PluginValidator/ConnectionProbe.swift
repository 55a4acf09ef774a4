#if canImport(Glibc)
import Glibc
#endif
import Host
import Locking
import PluginAPI

/// The host side of one connection the validator opens: the `mcph_conn_callbacks` it hands to
/// `open`, and everything those callbacks saw.
///
/// The callbacks only record (under a lock, never calling the plugin: the validator keeps the
/// ABI's no-re-entrance promise) and return. The probe is retained for the life of the process,
/// never freed, so that a plugin calling back after `destroy` (a failure this records) cannot
/// make the validator touch freed memory.
///
/// `@unchecked Sendable`: `callbacks` points to a table written once in `init` and only read
/// afterwards; everything that changes is in `state` (`Locked`).
final class ConnectionProbe: @unchecked Sendable {
    /// One connection event, when it arrived (monotonic ns).
    struct Event: Sendable {
        let event: mcph_conn_event
        let code: Int32
        let detail: String
        let at: UInt64
    }

    struct State: Sendable {
        var events: [Event] = []
        /// Messages kept for the checks (bounded by `messageLimit` / `byteLimit`; the rest are counted).
        var messages: [[UInt8]] = []
        var keptBytes = 0
        var messageCount = 0
        var relatedCount = 0
        var writable = 0
        var terminal = 0
        var opened = 0
        /// Messages after the terminal event (the ABI: none).
        var messagesAfterTerminal = 0
        /// OPENED after a terminal event, or a second OPENED.
        var lateOpened = 0
        /// Serialized callbacks (on_message, on_related_message, on_event) running right now, and
        /// how often one started while another ran (the ABI: serialized per connection).
        var inside = 0
        var overlaps = 0
        /// Set by the runner's thread the moment `destroy` returns.
        var destroyed = false
        var afterDestroy = 0
        /// Messages whose `len` cannot be right (past the address space, or set with a NULL `ptr`).
        var impossibleLengths = 0
    }

    static let messageLimit = 10_000
    static let byteLimit = 16 << 20

    let state = Locked(State())
    let logs: PluginLogSink
    /// The table handed to `open` (the plugin copies it); allocated once, never freed.
    let callbacks: UnsafePointer<mcph_conn_callbacks>

    /// `declaredSize`: the callbacks' struct_size (this header's size, or the 1.0 size for the
    /// old-host probe); `onRelated`: nil means leave on_related_message NULL.
    init(logs: PluginLogSink, declaredSize: Int = MemoryLayout<mcph_conn_callbacks>.size) {
        self.logs = logs
        let size = MemoryLayout<mcph_conn_callbacks>.size + 64
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<mcph_conn_callbacks>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: ValidatorHost.poison, count: size)
        let table = raw.bindMemory(to: mcph_conn_callbacks.self, capacity: 1)
        callbacks = UnsafePointer(table)
        table.pointer(to: \.struct_size)!.pointee = UInt32(declaredSize)
        table.pointer(to: \.on_message)!.pointee = probeMessage
        table.pointer(to: \.on_event)!.pointee = probeEvent
        table.pointer(to: \.on_log)!.pointee = probeLog
        // Past a 1.0 struct_size this slot is beyond what the plugin may read: it stays a working
        // function that counts, so a plugin that calls it anyway is named instead of crashing.
        table.pointer(to: \.on_related_message)!.pointee = probeRelatedMessage
        table.pointer(to: \.ctx)!.pointee = Unmanaged.passRetained(self).toOpaque()
    }

    // MARK: - Recording (callback threads)

    fileprivate func enter() {
        state.withLock { state in
            if state.inside > 0 { state.overlaps += 1 }
            state.inside += 1
            if state.destroyed { state.afterDestroy += 1 }
        }
    }

    fileprivate func leave() {
        state.withLock { $0.inside -= 1 }
    }

    fileprivate func record(message: mcph_bytes, related: Bool) {
        enter()
        // `len` is a plugin-written size_t: one past Int.max (negative here) or without bytes is
        // recorded as a failure, never turned into a buffer (which would trap).
        let length = message.len
        let impossible = length < 0 || (message.ptr == nil && length > 0)
        let bytes: [UInt8] = impossible ? [] : message.ptr.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
        message.release?(message.release_ctx, message.ptr, message.len)
        state.withLock { state in
            state.messageCount += 1
            if impossible { state.impossibleLengths += 1 }
            if related { state.relatedCount += 1 }
            if state.terminal > 0 { state.messagesAfterTerminal += 1 }
            if !impossible && state.messages.count < Self.messageLimit && state.keptBytes + bytes.count <= Self.byteLimit {
                state.messages.append(bytes)
                state.keptBytes += bytes.count
            }
        }
        leave()
    }

    fileprivate func record(event: mcph_conn_event, code: Int32, detail: String) {
        enter()
        let now = MonotonicClock.nanoseconds()
        state.withLock { state in
            state.events.append(Event(event: event, code: code, detail: detail, at: now))
            switch event {
            case MCPH_EVENT_OPENED:
                if state.opened > 0 || state.terminal > 0 { state.lateOpened += 1 }
                state.opened += 1
            case MCPH_EVENT_FAILED, MCPH_EVENT_CLOSED:
                state.terminal += 1
            case MCPH_EVENT_WRITABLE:
                state.writable += 1
            default:
                break
            }
        }
        leave()
    }

    fileprivate func recordLog() {
        state.withLock { if $0.destroyed { $0.afterDestroy += 1 } }
    }

    /// Called on the runner's thread right after `destroy` returned.
    func markDestroyed() {
        state.withLock { $0.destroyed = true }
    }

    // MARK: - Reading (the validator's thread)

    var snapshot: State { state.withLock { $0 } }

    /// Polls until `condition` holds or `seconds` pass; returns the last snapshot and whether it held.
    func wait(seconds: Double, until condition: (State) -> Bool) -> (State, Bool) {
        let deadline = MonotonicClock.deadline(after: seconds, from: MonotonicClock.nanoseconds())
        while true {
            let now = snapshot
            if condition(now) { return (now, true) }
            if MonotonicClock.nanoseconds() >= deadline { return (now, false) }
            var pause = timespec(tv_sec: 0, tv_nsec: 2_000_000)
            nanosleep(&pause, nil)
        }
    }

    /// The first terminal event, if any.
    var terminalEvent: Event? {
        snapshot.events.first { $0.event == MCPH_EVENT_FAILED || $0.event == MCPH_EVENT_CLOSED }
    }
}

private func probe(_ ctx: UnsafeMutableRawPointer?) -> ConnectionProbe? {
    ctx.map { Unmanaged<ConnectionProbe>.fromOpaque($0).takeUnretainedValue() }
}

private func probeMessage(_ ctx: UnsafeMutableRawPointer?, _ message: mcph_bytes) {
    guard let probe = probe(ctx) else {
        message.release?(message.release_ctx, message.ptr, message.len)
        return
    }
    probe.record(message: message, related: false)
}

private func probeRelatedMessage(_ ctx: UnsafeMutableRawPointer?, _ message: mcph_bytes, _ id: UnsafePointer<UInt8>?, _ idLength: Int) {
    guard let probe = probe(ctx) else {
        message.release?(message.release_ctx, message.ptr, message.len)
        return
    }
    probe.record(message: message, related: true)
}

private func probeEvent(_ ctx: UnsafeMutableRawPointer?, _ event: mcph_conn_event, _ code: Int32, _ detail: UnsafePointer<CChar>?, _ length: Int) {
    probe(ctx)?.record(event: event, code: code, detail: borrowed(detail, length))
}

private func probeLog(_ ctx: UnsafeMutableRawPointer?, _ level: mcph_log_level, _ message: UnsafePointer<CChar>?, _ length: Int) {
    guard let probe = probe(ctx) else { return }
    probe.recordLog()
    probe.logs.append(level, message, length)
}
