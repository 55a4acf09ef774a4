#if canImport(Glibc)
import Glibc
#endif
import PluginAPI
import PluginKit

// The C face of the default namespacing router ("mcph.router/1"). Stateless, so every function is
// trivially thread-safe and never blocks.

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let descriptor = makeDescriptor(
    id: "mcph.namespace", name: "namespacing router", version: "0.1.0",
    description: "Exposes items as server__name (tool names kept to 1-128 chars of [A-Za-z0-9_.-])",
    kinds: UInt32(MCPH_KIND_ROUTER),
    init: { _, out, _, _ in out?.pointee = nil; return MCPH_OK },
    getInterface: { _, id in interface(id, MCPH_IFACE_ROUTER_V1, routerTable) },
    deinit: nil)

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let routerTable = makeRouterTable(expose: expose, route: route, allow: nil)

@_cdecl("mcph_plugin_entry_v1")
public func mcphNamespaceRouterEntry() -> UnsafePointer<mcph_plugin_descriptor>? {
    UnsafePointer(descriptor)
}

private func expose(_ state: UnsafeMutableRawPointer?, _ kind: mcph_item_kind, _ backend: UnsafePointer<CChar>?, _ backendLength: Int,
                    _ name: UnsafePointer<CChar>?, _ nameLength: Int, _ out: UnsafeMutablePointer<mcph_buf>?) -> Int32 {
    let backend = string(backend, backendLength), name = string(name, nameLength)
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
    let exposed = string(name, nameLength)
    guard let (backend, original) = NamespaceRules.split(exposed) else {
        _ = write("'\(exposed)' is not a namespaced name: expected SERVER\(NamespaceRules.separator)NAME", to: outMessage)
        return MCPH_ROUTE_REJECT
    }
    guard write(backend, to: outBackend), write(original, to: outName) else { return MCPH_ROUTE_DEFAULT }
    return MCPH_ROUTE_FORWARD
}
