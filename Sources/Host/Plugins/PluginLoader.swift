#if canImport(Glibc)
import Glibc
#endif
import Logging
import PluginAPI

/// What the host speaks: ABI major 1; minors from `minimumMinor` up are accepted (a plugin built
/// against a newer minor is accepted too: it must check `struct_size` of what the host hands it).
public enum PluginABI {
    public static let major = UInt16(MCPH_ABI_MAJOR)
    public static let minor = UInt16(MCPH_ABI_MINOR)
    public static let minimumMinor: UInt16 = 0
    public static let entrySymbol = MCPH_ENTRY_SYMBOL_V1

    // The ABI 1.0 sizes: the smallest `struct_size` accepted from a peer, whatever the header
    // grows into (fields past a declared `struct_size` read as absent). Each is the offset of the
    // struct's last 1.0 field plus its size (a function pointer), like MCPH_*_SIZE_1_0 in C.
    private static let pointerSize = MemoryLayout<UnsafeRawPointer?>.size
    static let descriptorV1Size = MemoryLayout<mcph_plugin_descriptor>.offset(of: \.deinit)! + pointerSize
    static let transportV1Size = MemoryLayout<mcph_transport_v1>.offset(of: \.destroy)! + pointerSize
    static let routerV1Size = MemoryLayout<mcph_router_v1>.offset(of: \.route)! + pointerSize
    static let callbacksV1Size = MemoryLayout<mcph_conn_callbacks>.offset(of: \.on_log)! + pointerSize
    static let hostV1Size = MemoryLayout<mcph_host>.offset(of: \.get_interface)! + pointerSize

    /// A growable struct a peer declared as `declaredSize` bytes, copied into a full-size value:
    /// never reads past the declared size; fields past it are zero (absent). The caller checked
    /// that `declaredSize` is at least the struct's 1.0 size.
    static func readGrowable<T>(_ pointer: UnsafeRawPointer, declaredSize: UInt32, as type: T.Type) -> T {
        let size = MemoryLayout<T>.size
        let storage = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<T>.alignment)
        defer { storage.deallocate() }
        mcph_struct_copy(storage, size, pointer, Int(declaredSize))
        return storage.load(as: T.self)
    }
}

/// A plugin the loader refused, and why.
public struct PluginRejection: Sendable, Equatable {
    public let path: String
    public let reason: String
}

/// Loads plugin libraries from drop-in directories with `dlopen(RTLD_NOW | RTLD_LOCAL)`.
///
/// Drop-in semantics: each directory is read in bytewise lexical order. A `*.so` file is a plugin
/// library; a `*.plugin` file is a manifest naming one (see `PluginManifest`); anything else is
/// ignored with a debug log. A library that cannot be used is rejected with a reason naming the
/// file, what was found and what was expected; the host carries on with the others.
/// Libraries are never unloaded (`RTLD_NODELETE`): Swift plugins keep metadata pointers into
/// their image.
public struct PluginLoader {
    public let logger: Logger
    /// The host's state directory given to every plugin (`mcph_host.state_dir`, ABI 1.2); nil: none.
    public let stateDirectory: String?
    /// Each plugin's section of the configuration, by plugin id (`mcph_host.plugin_config`, ABI 1.4).
    public let pluginSettings: [String: [UInt8]]
    /// Plugins whose configuration section is invalid (id -> why): refused before their `init`.
    public let invalidSettings: [String: String]

    public init(logger: Logger, stateDirectory: String? = nil, pluginSettings: [String: [UInt8]] = [:],
                invalidSettings: [String: String] = [:]) {
        self.logger = logger
        self.stateDirectory = stateDirectory
        self.pluginSettings = pluginSettings
        self.invalidSettings = invalidSettings
    }

    public func load(directories: [String]) -> PluginRegistry {
        let registry = PluginRegistry()
        for directory in directories {
            guard let names = HostPaths.listDirectory(directory) else {
                logger.debug("plugin directory not readable; skipped", metadata: ["dir": "\(directory)"])
                continue
            }
            for name in names {
                let path = HostPaths.resolve(name, against: directory)
                // A manifest first: `libfoo.so.plugin` is a manifest, not a versioned library.
                if name.hasSuffix(PluginManifest.fileExtension) {
                    switch PluginManifest.read(at: path) {
                    case .success(let library): loadLibrary(at: library, via: path, into: registry)
                    case .failure(let error): reject(path, error.description, registry)
                    }
                } else if name.hasSuffix(".so") || name.contains(".so.") {
                    loadLibrary(at: path, via: nil, into: registry)
                } else {
                    logger.debug("not a plugin (neither *.so nor *.plugin); ignored", metadata: ["file": "\(path)"])
                }
            }
        }
        return registry
    }

    private func reject(_ path: String, _ reason: String, _ registry: PluginRegistry) {
        logger.error("plugin rejected: \(reason)", metadata: ["file": "\(path)"])
        registry.rejected.append(PluginRejection(path: path, reason: reason))
    }

    private func loadLibrary(at path: String, via manifest: String?, into registry: PluginRegistry) {
        let shown = manifest.map { "\(path) (from \($0))" } ?? path
        guard HostPaths.isFile(path) else {
            reject(shown, "library '\(path)' does not exist" + (manifest != nil ? "; build the package first (swift build)" : ""), registry)
            return
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            reject(shown, "cannot load library: \(why)", registry)
            return
        }
        guard let symbol = dlsym(handle, PluginABI.entrySymbol) else {
            let other = (2...9).first { dlsym(handle, "mcph_plugin_entry_v\($0)") != nil }
            let found = other.map { "it exports mcph_plugin_entry_v\($0) (built for ABI major \($0))" }
                ?? "it exports no mcph_plugin_entry_v* symbol (not an mcp-host plugin)"
            reject(shown, "no '\(PluginABI.entrySymbol)' symbol: \(found); this host speaks ABI \(PluginABI.major).\(PluginABI.minor)", registry)
            return
        }
        let entry = unsafeBitCast(symbol, to: mcph_plugin_entry_v1_fn.self)
        guard let descriptor = entry() else {
            reject(shown, "\(PluginABI.entrySymbol) returned NULL; expected a plugin descriptor", registry)
            return
        }
        // struct_size is the first field of every ABI version; read it alone before the rest.
        let declared = UnsafeRawPointer(descriptor).load(as: UInt32.self)
        guard Int(declared) >= PluginABI.descriptorV1Size else {
            reject(shown, "descriptor struct_size \(declared) is smaller than the ABI 1.0 descriptor (\(PluginABI.descriptorV1Size) bytes)", registry)
            return
        }
        let d = PluginABI.readGrowable(descriptor, declaredSize: declared, as: mcph_plugin_descriptor.self)
        guard d.abi_major == PluginABI.major else {
            reject(shown, "built for ABI \(d.abi_major).\(d.abi_minor); this host speaks ABI \(PluginABI.major).x (\(PluginABI.major).\(PluginABI.minimumMinor) to \(PluginABI.major).\(PluginABI.minor))", registry)
            return
        }
        guard d.abi_minor >= PluginABI.minimumMinor else {
            reject(shown, "built for ABI \(d.abi_major).\(d.abi_minor), older than the oldest minor this host accepts (\(PluginABI.major).\(PluginABI.minimumMinor))", registry)
            return
        }
        guard let idPointer = d.id, let initFn = d.`init`, let getInterface = d.get_interface else {
            reject(shown, "descriptor lacks id, init or get_interface", registry)
            return
        }
        let id = String(cString: idPointer)
        if let existing = registry.plugins.first(where: { $0.info.id == id }) {
            reject(shown, "duplicate plugin id '\(id)'; already loaded from \(existing.info.path)", registry)
            return
        }
        let info = PluginInfo(
            id: id,
            name: d.name.map { String(cString: $0) } ?? id,
            version: d.version.map { String(cString: $0) } ?? "?",
            description: d.description.map { String(cString: $0) } ?? "",
            abiMajor: d.abi_major, abiMinor: d.abi_minor, kinds: d.kinds, path: path)

        if let problem = invalidSettings[id] {
            reject(shown, "not loaded: its settings in the configuration are invalid (\(problem))", registry)
            return
        }
        let host = PluginHostContext.make(pluginID: id, logger: logger, stateDirectory: stateDirectory, pluginConfig: pluginSettings[id])
        var state: UnsafeMutableRawPointer?
        var error = [CChar](repeating: 0, count: 512)
        let status = initFn(host, &state, &error, error.count)
        guard status == MCPH_OK else {
            reject(shown, "init failed (status \(status)): \(String(cBuffer: error))", registry)
            return
        }
        let plugin = LoadedPlugin(info: info, descriptor: descriptor, state: state, deinitFunction: d.deinit,
                                  reconfigureFunction: d.reconfigure, settings: pluginSettings[id])
        /// A plugin refused after its init succeeded is ended right away (deinit), as the ABI says.
        func refuse(_ reason: String) {
            reject(shown, reason, registry)
            plugin.end()
        }

        // Both interfaces are checked before either is registered, so a refused plugin leaves nothing behind.
        var transport: TransportPlugin?
        if d.kinds & UInt32(MCPH_KIND_TRANSPORT) != 0 {
            guard let raw = getInterface(state, MCPH_IFACE_TRANSPORT_V1) else {
                refuse("declares the transport kind but returns no '\(MCPH_IFACE_TRANSPORT_V1)' interface")
                return
            }
            let size = raw.load(as: UInt32.self)
            let table = Int(size) >= PluginABI.transportV1Size ? PluginABI.readGrowable(raw, declaredSize: size, as: mcph_transport_v1.self) : nil
            guard let table, let namePtr = table.name, table.open != nil, table.send != nil, table.close != nil, table.destroy != nil else {
                refuse("its '\(MCPH_IFACE_TRANSPORT_V1)' table is incomplete (struct_size \(size), expected at least \(PluginABI.transportV1Size) with every function set)")
                return
            }
            let name = String(cString: namePtr)
            if let other = registry.transports[name] {
                refuse("transport '\(name)' is already provided by plugin '\(other.plugin.info.id)'")
                return
            }
            transport = TransportPlugin(plugin: plugin, table: table, name: name)
        }
        var router: RouterPlugin?
        if d.kinds & UInt32(MCPH_KIND_ROUTER) != 0 {
            guard let raw = getInterface(state, MCPH_IFACE_ROUTER_V1) else {
                refuse("declares the router kind but returns no '\(MCPH_IFACE_ROUTER_V1)' interface")
                return
            }
            let size = raw.load(as: UInt32.self)
            let table = Int(size) >= PluginABI.routerV1Size ? PluginABI.readGrowable(raw, declaredSize: size, as: mcph_router_v1.self) : nil
            guard let table, table.expose != nil, table.route != nil else {
                refuse("its '\(MCPH_IFACE_ROUTER_V1)' table is incomplete (struct_size \(size), expected at least \(PluginABI.routerV1Size) with both functions set)")
                return
            }
            router = RouterPlugin(plugin: plugin, table: table)
        }
        if let transport { registry.transports[transport.name] = transport }
        if let router { registry.routers.append(router) }
        registry.plugins.append(plugin)
        logger.debug("plugin loaded", metadata: ["id": "\(id)", "version": "\(info.version)", "file": "\(path)"])
    }
}

extension PluginLoader {
    /// Loads the one library at `path` exactly as `load(directories:)` loads each library it finds
    /// (for `mcp-host validate-plugin`): the registry holds the plugin, or the reason it was refused.
    public func load(library path: String) -> PluginRegistry {
        let registry = PluginRegistry()
        loadLibrary(at: path, via: nil, into: registry)
        return registry
    }
}

/// A `*.plugin` manifest: a text file whose first non-comment line is the path of a plugin
/// library. `${EXE_DIR}` expands to the directory of the mcp-host executable (so `plugins.d` in
/// the repository works after `swift build` in debug or release); a relative path is resolved
/// against the manifest's own directory. Lines starting with `#` are comments.
public enum PluginManifest {
    public static let fileExtension = ".plugin"

    public static func read(at path: String) -> Result<String, ManifestError> {
        guard let bytes = HostPaths.readFile(path) else { return .failure(ManifestError("cannot read manifest")) }
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard let line = lines.map({ $0.trimmingSpaces }).first(where: { !$0.isEmpty && !$0.hasPrefix("#") }) else {
            return .failure(ManifestError("manifest names no library (expected a line such as ${EXE_DIR}/libmcph-stdio.so)"))
        }
        let expanded = line.replacing("${EXE_DIR}", with: HostPaths.executableDirectory)
        return .success(HostPaths.resolve(expanded, against: HostPaths.parent(of: path)))
    }

    public struct ManifestError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension String {
    /// The NUL-terminated text in a C buffer the callee filled.
    init(cBuffer buffer: [CChar]) {
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        self = String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
