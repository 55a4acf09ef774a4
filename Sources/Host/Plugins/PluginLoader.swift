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

    /// Size of the v1.0 descriptor: every field up to and including `deinit`.
    static let descriptorV1Size = MemoryLayout<mcph_plugin_descriptor>.size
    static let transportV1Size = MemoryLayout<mcph_transport_v1>.size
    static let routerV1Size = MemoryLayout<mcph_router_v1>.size
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

    public init(logger: Logger) { self.logger = logger }

    public func load(directories: [String]) -> PluginRegistry {
        let registry = PluginRegistry()
        for directory in directories {
            guard let names = HostPaths.listDirectory(directory) else {
                logger.debug("plugin directory not readable; skipped", metadata: ["dir": "\(directory)"])
                continue
            }
            for name in names {
                let path = HostPaths.resolve(name, against: directory)
                if name.hasSuffix(".so") || name.contains(".so.") {
                    loadLibrary(at: path, via: nil, into: registry)
                } else if name.hasSuffix(PluginManifest.fileExtension) {
                    switch PluginManifest.read(at: path) {
                    case .success(let library): loadLibrary(at: library, via: path, into: registry)
                    case .failure(let error): reject(path, error.description, registry)
                    }
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
        let d = descriptor.pointee
        guard Int(d.struct_size) >= PluginABI.descriptorV1Size else {
            reject(shown, "descriptor struct_size \(d.struct_size) is smaller than the ABI 1.0 descriptor (\(PluginABI.descriptorV1Size) bytes)", registry)
            return
        }
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

        let host = PluginHostContext.make(pluginID: id, logger: logger)
        var state: UnsafeMutableRawPointer?
        var error = [CChar](repeating: 0, count: 512)
        let status = initFn(host, &state, &error, error.count)
        guard status == MCPH_OK else {
            reject(shown, "init failed (status \(status)): \(String(cBuffer: error))", registry)
            return
        }
        let plugin = LoadedPlugin(info: info, descriptor: descriptor, state: state)

        if d.kinds & UInt32(MCPH_KIND_TRANSPORT) != 0 {
            guard let raw = getInterface(state, MCPH_IFACE_TRANSPORT_V1) else {
                reject(shown, "declares the transport kind but returns no '\(MCPH_IFACE_TRANSPORT_V1)' interface", registry)
                return
            }
            let table = raw.assumingMemoryBound(to: mcph_transport_v1.self)
            guard Int(table.pointee.struct_size) >= PluginABI.transportV1Size, let namePtr = table.pointee.name,
                  table.pointee.open != nil, table.pointee.send != nil, table.pointee.close != nil, table.pointee.destroy != nil else {
                reject(shown, "its '\(MCPH_IFACE_TRANSPORT_V1)' table is incomplete (struct_size \(table.pointee.struct_size), expected at least \(PluginABI.transportV1Size) with every function set)", registry)
                return
            }
            let name = String(cString: namePtr)
            if let other = registry.transports[name] {
                reject(shown, "transport '\(name)' is already provided by plugin '\(other.plugin.info.id)'", registry)
                return
            }
            registry.transports[name] = TransportPlugin(plugin: plugin, table: table, name: name)
        }
        if d.kinds & UInt32(MCPH_KIND_ROUTER) != 0 {
            guard let raw = getInterface(state, MCPH_IFACE_ROUTER_V1) else {
                reject(shown, "declares the router kind but returns no '\(MCPH_IFACE_ROUTER_V1)' interface", registry)
                return
            }
            let table = raw.assumingMemoryBound(to: mcph_router_v1.self)
            guard Int(table.pointee.struct_size) >= PluginABI.routerV1Size, table.pointee.expose != nil, table.pointee.route != nil else {
                reject(shown, "its '\(MCPH_IFACE_ROUTER_V1)' table is incomplete", registry)
                return
            }
            registry.routers.append(RouterPlugin(plugin: plugin, table: table))
        }
        registry.plugins.append(plugin)
        logger.debug("plugin loaded", metadata: ["id": "\(id)", "version": "\(info.version)", "file": "\(path)"])
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
