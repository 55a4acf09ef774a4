#if canImport(Glibc)
import Glibc
#endif
import Host
import PluginAPI

/// The ABI 1.0 sizes of the growable structs (the smallest `struct_size` a peer may declare), as
/// the header's MCPH_*_SIZE_1_0 macros compute them: the offset of the struct's last 1.0 field
/// plus its size (a function pointer).
enum ABISizes {
    private static let pointer = MemoryLayout<UnsafeRawPointer?>.size
    static let descriptor = MemoryLayout<mcph_plugin_descriptor>.offset(of: \.deinit)! + pointer
    static let transport = MemoryLayout<mcph_transport_v1>.offset(of: \.destroy)! + pointer
    static let router = MemoryLayout<mcph_router_v1>.offset(of: \.route)! + pointer
    /// The 1.4 size of the router table: a table at least this large has the `allow` slot.
    static let routerWithAllow = MemoryLayout<mcph_router_v1>.offset(of: \.allow)! + pointer
    static let callbacks = MemoryLayout<mcph_conn_callbacks>.offset(of: \.on_log)! + pointer
    static let host = MemoryLayout<mcph_host>.offset(of: \.get_interface)! + pointer

    /// A growable struct a peer declared as `declared` bytes, copied into a full-size value: no
    /// byte past the declared size is read; fields past it read as absent (zero).
    static func read<T>(_ pointer: UnsafeRawPointer, declared: UInt32, as type: T.Type) -> T {
        let size = MemoryLayout<T>.size
        let storage = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<T>.alignment)
        defer { storage.deallocate() }
        mcph_struct_copy(storage, size, pointer, Int(declared))
        return storage.load(as: T.self)
    }
}

/// A plugin library opened the way the host opens it (`dlopen(RTLD_NOW | RTLD_LOCAL |
/// RTLD_NODELETE)`, then `mcph_plugin_entry_v1`), with its descriptor copied within the
/// `struct_size` it declares. Nothing of the plugin has been called but its entry function.
struct PluginLibrary: @unchecked Sendable { // pointers into a library that is never unloaded; read-only
    let path: String
    let descriptorPointer: UnsafePointer<mcph_plugin_descriptor>
    let declaredSize: UInt32
    let descriptor: mcph_plugin_descriptor

    /// Why a library could not be opened far enough to run the suite (the report's exit status 2).
    struct OpenFailure: Error {
        let check: CheckResult
    }

    /// Opens the library and reads its descriptor. The checks on the way (the file, dlopen, the
    /// entry symbol, a descriptor of at least the 1.0 size and of ABI major 1) go to `record`.
    static func open(_ path: String, record: (CheckResult) -> Void) throws(OpenFailure) -> PluginLibrary {
        guard HostPaths.isFile(path) else {
            throw OpenFailure(check: .fail("library.open", "'\(path)' does not exist or is not a regular file"))
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw OpenFailure(check: .fail("library.open", "dlopen failed: \(why)"))
        }
        record(.pass("library.open", "dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) loads it, as the host does"))

        guard let symbol = dlsym(handle, PluginABI.entrySymbol) else {
            let other = (2...9).first { dlsym(handle, "mcph_plugin_entry_v\($0)") != nil }
            let found = other.map { "it exports mcph_plugin_entry_v\($0) (built for ABI major \($0))" }
                ?? "it exports no mcph_plugin_entry_v* symbol (not an mcp-host plugin)"
            throw OpenFailure(check: .fail("library.entry", "no '\(PluginABI.entrySymbol)' symbol: \(found)"))
        }
        let entry = unsafeBitCast(symbol, to: mcph_plugin_entry_v1_fn.self)
        guard let descriptor = entry() else {
            throw OpenFailure(check: .fail("library.entry", "\(PluginABI.entrySymbol) returned NULL; expected a plugin descriptor"))
        }
        let again = entry()
        guard again == descriptor else {
            throw OpenFailure(check: .fail("library.entry", "\(PluginABI.entrySymbol) returned a different descriptor on its second call (the ABI: callable any number of times, always the same pointer)"))
        }
        record(.pass("library.entry", "\(PluginABI.entrySymbol) returns a descriptor, the same one on every call"))

        // struct_size is the first field of every ABI version: read it alone before the rest.
        let declared = UnsafeRawPointer(descriptor).load(as: UInt32.self)
        guard Int(declared) >= ABISizes.descriptor else {
            throw OpenFailure(check: .fail("descriptor.struct_size", "struct_size \(declared) is smaller than the ABI 1.0 descriptor (\(ABISizes.descriptor) bytes)"))
        }
        record(.pass("descriptor.struct_size", "\(declared) bytes (ABI 1.0: \(ABISizes.descriptor), this header: \(MemoryLayout<mcph_plugin_descriptor>.size))"))
        let copy = ABISizes.read(descriptor, declared: declared, as: mcph_plugin_descriptor.self)
        guard copy.abi_major == PluginABI.major else {
            throw OpenFailure(check: .fail("descriptor.abi", "built for ABI \(copy.abi_major).\(copy.abi_minor); this host speaks ABI \(PluginABI.major).0 to \(PluginABI.major).\(PluginABI.minor)"))
        }
        let newer = copy.abi_minor > PluginABI.minor ? " (newer than this host's \(PluginABI.major).\(PluginABI.minor): it must check the struct_size of what the host gives it)" : ""
        record(.pass("descriptor.abi", "ABI \(copy.abi_major).\(copy.abi_minor)\(newer)"))
        return PluginLibrary(path: path, descriptorPointer: descriptor, declaredSize: declared, descriptor: copy)
    }

    var id: String? { descriptor.id.map { String(cString: $0) } }

    var summary: PluginSummary {
        var kinds: [String] = []
        if descriptor.kinds & UInt32(MCPH_KIND_TRANSPORT) != 0 { kinds.append("transport") }
        if descriptor.kinds & UInt32(MCPH_KIND_ROUTER) != 0 { kinds.append("router") }
        return PluginSummary(id: id ?? "?", name: descriptor.name.map { String(cString: $0) } ?? "?",
                             version: descriptor.version.map { String(cString: $0) } ?? "?",
                             abiMajor: descriptor.abi_major, abiMinor: descriptor.abi_minor, kinds: kinds)
    }

    var isTransport: Bool { descriptor.kinds & UInt32(MCPH_KIND_TRANSPORT) != 0 }
    var isRouter: Bool { descriptor.kinds & UInt32(MCPH_KIND_ROUTER) != 0 }
}
