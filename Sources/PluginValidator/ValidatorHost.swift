#if canImport(Glibc)
import Glibc
#endif
import Host
import Locking
import PluginAPI

/// Log lines a plugin wrote (through `mcph_host.log` or a connection's `on_log`), kept until the
/// validator's thread prints them: the callbacks only append (they must never block).
/// Bounded: past `limit` lines, further ones are counted, not kept.
final class PluginLogSink: Sendable {
    static let limit = 2000

    struct Line: Sendable {
        let level: mcph_log_level
        let text: String
    }

    private struct State {
        var lines: [Line] = []
        var dropped = 0
    }

    private let state = Locked(State())

    func append(_ level: mcph_log_level, _ pointer: UnsafePointer<CChar>?, _ length: Int) {
        let text = borrowed(pointer, length)
        state.withLock { state in
            if state.lines.count < Self.limit { state.lines.append(Line(level: level, text: text)) } else { state.dropped += 1 }
        }
    }

    /// Takes the lines written so far, and how many were dropped at the bound.
    func drain() -> (lines: [Line], dropped: Int) {
        state.withLock { state in
            defer { state = State() }
            return (state.lines, state.dropped)
        }
    }
}

/// Text of a borrowed (pointer, length) pair from a plugin; invalid UTF-8 is repaired; at most 64 KiB.
func borrowed(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
    guard let pointer, length > 0 else { return "" }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: min(length, 64 << 10)), as: UTF8.self)
    }
}

/// The `mcph_host` tables the validator gives a plugin's `init`. Allocated once and never freed
/// (the plugin may keep the pointer until its deinit; plugins are never unloaded).
enum ValidatorHost {
    /// Bytes past the declared `struct_size` of the old host's table, filled with the poison
    /// pattern: a plugin that reads there gets garbage (and, following a pointer, usually crashes).
    static let poisonTail = 256
    static let poison: UInt8 = 0xA5

    /// A host of this header's size and minor (what `mcp-host serve` gives), logging into `sink`.
    static func current(sink: PluginLogSink) -> UnsafePointer<mcph_host> {
        let table = UnsafeMutablePointer<mcph_host>.allocate(capacity: 1)
        table.initialize(to: mcph_host(
            struct_size: UInt32(MemoryLayout<mcph_host>.size),
            abi_major: PluginABI.major,
            abi_minor: PluginABI.minor,
            ctx: Unmanaged.passRetained(sink).toOpaque(),
            log: hostLog,
            monotonic_ns: hostClock,
            get_interface: hostInterface,
            state_dir: nil,
            state_dir_len: 0,
            plugin_config: nil,
            plugin_config_len: 0))
        return UnsafePointer(table)
    }

    /// An ABI 1.0 host: `struct_size` is MCPH_HOST_SIZE_1_0 and `abi_minor` 0; every byte after the
    /// 1.0 fields (this header's later fields and `poisonTail` more) is the poison pattern.
    static func old(sink: PluginLogSink) -> UnsafePointer<mcph_host> {
        let size = MemoryLayout<mcph_host>.size + poisonTail
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<mcph_host>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: poison, count: size)
        let table = raw.bindMemory(to: mcph_host.self, capacity: 1)
        table.pointer(to: \.struct_size)!.pointee = UInt32(ABISizes.host)
        table.pointer(to: \.abi_major)!.pointee = PluginABI.major
        table.pointer(to: \.abi_minor)!.pointee = 0
        table.pointer(to: \.ctx)!.pointee = Unmanaged.passRetained(sink).toOpaque()
        table.pointer(to: \.log)!.pointee = hostLog
        table.pointer(to: \.monotonic_ns)!.pointee = hostClock
        table.pointer(to: \.get_interface)!.pointee = hostInterface
        return UnsafePointer(table)
    }
}

private func hostLog(_ ctx: UnsafeMutableRawPointer?, _ level: mcph_log_level, _ message: UnsafePointer<CChar>?, _ length: Int) {
    guard let ctx else { return }
    Unmanaged<PluginLogSink>.fromOpaque(ctx).takeUnretainedValue().append(level, message, length)
}

private func hostClock(_ ctx: UnsafeMutableRawPointer?) -> UInt64 {
    MonotonicClock.nanoseconds()
}

private func hostInterface(_ ctx: UnsafeMutableRawPointer?, _ id: UnsafePointer<CChar>?) -> UnsafeRawPointer? {
    nil // ABI 1.4 defines no host-side interface.
}

/// The NUL-terminated text in an error buffer the plugin filled (all of it when it wrote no NUL).
func cText(_ buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.count
    return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
