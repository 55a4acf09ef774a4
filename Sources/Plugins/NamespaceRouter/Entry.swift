#if canImport(Glibc)
import Glibc
#endif
import PluginAPI

// The C face of the default namespacing router ("mcph.router/1"). Stateless, so every function is
// trivially thread-safe and never blocks.

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let descriptor: UnsafeMutablePointer<mcph_plugin_descriptor> = {
    let d = UnsafeMutablePointer<mcph_plugin_descriptor>.allocate(capacity: 1)
    d.initialize(to: mcph_plugin_descriptor(
        struct_size: UInt32(MemoryLayout<mcph_plugin_descriptor>.size),
        abi_major: UInt16(MCPH_ABI_MAJOR),
        abi_minor: UInt16(MCPH_ABI_MINOR),
        id: UnsafePointer(strdup("mcph.namespace")),
        name: UnsafePointer(strdup("namespacing router")),
        version: UnsafePointer(strdup("0.1.0")),
        description: UnsafePointer(strdup("Exposes items as server__name (tool names kept to 1-128 chars of [A-Za-z0-9_.-])")),
        kinds: UInt32(MCPH_KIND_ROUTER),
        init: { _, out, _, _ in out?.pointee = nil; return MCPH_OK },
        get_interface: { _, id in
            guard let id, strcmp(id, MCPH_IFACE_ROUTER_V1) == 0 else { return nil }
            return UnsafeRawPointer(routerTable)
        },
        deinit: nil,
        reconfigure: nil))
    return d
}()

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let routerTable: UnsafeMutablePointer<mcph_router_v1> = {
    let t = UnsafeMutablePointer<mcph_router_v1>.allocate(capacity: 1)
    t.initialize(to: mcph_router_v1(struct_size: UInt32(MemoryLayout<mcph_router_v1>.size), expose: expose, route: route, allow: nil))
    return t
}()

@_cdecl("mcph_plugin_entry_v1")
public func mcphNamespaceRouterEntry() -> UnsafePointer<mcph_plugin_descriptor>? {
    UnsafePointer(descriptor)
}

private func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
    guard let pointer, length > 0 else { return "" }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
}

/// Writes `value` into a caller's buffer per the mcph_buf rules.
private func write(_ value: String, to buffer: UnsafeMutablePointer<mcph_buf>?) -> Bool {
    guard let buffer else { return false }
    let bytes = Array(value.utf8)
    buffer.pointee.len = bytes.count
    guard bytes.count <= buffer.pointee.cap, let destination = buffer.pointee.ptr else { return false }
    for (i, b) in bytes.enumerated() { destination[i] = CChar(bitPattern: b) }
    return true
}

private func expose(_ state: UnsafeMutableRawPointer?, _ kind: mcph_item_kind, _ backend: UnsafePointer<CChar>?, _ backendLength: Int,
                    _ name: UnsafePointer<CChar>?, _ nameLength: Int, _ out: UnsafeMutablePointer<mcph_buf>?) -> Int32 {
    let backend = text(backend, backendLength), name = text(name, nameLength)
    let exposed: String
    switch kind {
    case MCPH_ITEM_TOOL: exposed = NamespaceRules.exposedToolName(backend: backend, name: name)
    case MCPH_ITEM_PROMPT: exposed = NamespaceRules.exposedPromptName(backend: backend, name: name)
    default: exposed = name // resource URIs and URI templates stay as the backend wrote them
    }
    return write(exposed, to: out) ? MCPH_EXPOSE_SHOW : MCPH_E_TOO_SMALL
}

private func route(_ state: UnsafeMutableRawPointer?, _ method: UnsafePointer<CChar>?, _ methodLength: Int, _ kind: mcph_item_kind,
                   _ name: UnsafePointer<CChar>?, _ nameLength: Int, _ outBackend: UnsafeMutablePointer<mcph_buf>?,
                   _ outName: UnsafeMutablePointer<mcph_buf>?, _ outMessage: UnsafeMutablePointer<mcph_buf>?) -> mcph_route_decision {
    guard kind == MCPH_ITEM_TOOL || kind == MCPH_ITEM_PROMPT else { return MCPH_ROUTE_DEFAULT }
    let exposed = text(name, nameLength)
    guard let (backend, original) = NamespaceRules.split(exposed) else {
        _ = write("'\(exposed)' is not a namespaced name: expected SERVER\(NamespaceRules.separator)NAME", to: outMessage)
        return MCPH_ROUTE_REJECT
    }
    guard write(backend, to: outBackend), write(original, to: outName) else { return MCPH_ROUTE_DEFAULT }
    return MCPH_ROUTE_FORWARD
}
