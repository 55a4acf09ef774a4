#if canImport(Glibc)
import Glibc
#endif
import FilterRouterCore
import PluginAPI
import PluginKit

// The C face of the filter router ("mcph.router/1", plugin id mcph.filter): hides items by
// allow/deny globs per server (expose: HIDE, route: REJECT) and per caller (allow: DENY). Its
// settings come from mcph_host.plugin_config (ABI 1.4) and may change while the host runs
// (reconfigure). Every router function is thread-safe and never blocks (see FilterPlugin).

/// The `mcph_host` size through `plugin_config_len` (ABI 1.4): a smaller host has no settings to give.
private let hostSizeWithSettings = MemoryLayout<mcph_host>.offset(of: \.plugin_config_len)! + MemoryLayout<Int>.size
/// The `mcph_caller` size through `role_count`: the smallest caller with roles.
private let callerSizeWithRoles = MemoryLayout<mcph_caller>.offset(of: \.role_count)! + MemoryLayout<Int>.size
private let callerSizeWithSubject = MemoryLayout<mcph_caller>.offset(of: \.subject_len)! + MemoryLayout<Int>.size

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let descriptor = makeDescriptor(
    id: "mcph.filter", name: "filter router", version: "0.1.0",
    description: "Hides items by allow/deny glob lists per server (lists and calls) and per caller subject or role",
    kinds: UInt32(MCPH_KIND_ROUTER),
    init: pluginInit,
    getInterface: { _, id in interface(id, MCPH_IFACE_ROUTER_V1, routerTable) },
    deinit: { releasePlugin($0, as: FilterPlugin.self) },
    reconfigure: pluginReconfigure)

/// `nonisolated(unsafe)`: written once by the lazy global initialiser, read-only afterwards.
nonisolated(unsafe) private let routerTable = makeRouterTable(expose: expose, route: route, allow: allow)

@_cdecl("mcph_plugin_entry_v1")
public func mcphFilterRouterEntry() -> UnsafePointer<mcph_plugin_descriptor>? {
    UnsafePointer(descriptor)
}

// MARK: - Lifecycle

private func pluginInit(_ host: UnsafePointer<mcph_host>?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                        _ err: UnsafeMutablePointer<CChar>?, _ errCap: Int) -> mcph_status {
    var settings: [UInt8] = []
    if let host, Int(host.pointee.struct_size) >= hostSizeWithSettings, let config = host.pointee.plugin_config {
        settings = bytes(config, host.pointee.plugin_config_len)
    }
    let rules: FilterRules
    do {
        rules = try FilterRules.parse(settings)
    } catch {
        writeError(error.description, err, errCap)
        return MCPH_E_INVALID
    }
    let plugin = FilterPlugin(rules: rules, host: host)
    plugin.log(MCPH_LOG_DEBUG, "filter rules: " + FilterPlugin.summary(rules))
    out?.pointee = Unmanaged.passRetained(plugin).toOpaque()
    return MCPH_OK
}

private func pluginReconfigure(_ state: UnsafeMutableRawPointer?, _ json: UnsafePointer<CChar>?, _ length: Int,
                               _ err: UnsafeMutablePointer<CChar>?, _ errCap: Int) -> mcph_status {
    guard let plugin = plugin(state) else { return MCPH_E_INVALID }
    let rules: FilterRules
    do {
        rules = try FilterRules.parse(json.map { bytes($0, length) } ?? [])
    } catch {
        writeError(error.description + " (the previous rules stay in force)", err, errCap)
        return MCPH_E_INVALID
    }
    plugin.replace(with: rules)
    plugin.log(MCPH_LOG_INFO, "filter rules replaced: " + FilterPlugin.summary(rules))
    return MCPH_OK
}

// MARK: - Router functions

private func expose(_ state: UnsafeMutableRawPointer?, _ kind: mcph_item_kind, _ backend: UnsafePointer<CChar>?, _ backendLength: Int,
                    _ name: UnsafePointer<CChar>?, _ nameLength: Int, _ out: UnsafeMutablePointer<mcph_buf>?) -> Int32 {
    guard let plugin = plugin(state) else { return MCPH_E_INVALID }
    let text = string(name, nameLength)
    guard plugin.rules.shows(server: string(backend, backendLength), name: text) else { return MCPH_EXPOSE_HIDE }
    return write(text, to: out) ? MCPH_EXPOSE_SHOW : MCPH_E_TOO_SMALL
}

private func route(_ state: UnsafeMutableRawPointer?, _ method: UnsafePointer<CChar>?, _ methodLength: Int, _ kind: mcph_item_kind,
                   _ name: UnsafePointer<CChar>?, _ nameLength: Int, _ outBackend: UnsafeMutablePointer<mcph_buf>?,
                   _ outName: UnsafeMutablePointer<mcph_buf>?, _ outMessage: UnsafeMutablePointer<mcph_buf>?) -> mcph_route_decision {
    guard let plugin = plugin(state) else { return MCPH_ROUTE_DEFAULT }
    let text = string(name, nameLength)
    guard plugin.rules.rejects(text) else { return MCPH_ROUTE_DEFAULT }
    // Says no more than a name that does not exist would: the rules are not revealed.
    _ = write("Unknown \(noun(kind)) '\(text)': it is not available through this host", to: outMessage)
    return MCPH_ROUTE_REJECT
}

private func allow(_ state: UnsafeMutableRawPointer?, _ kind: mcph_item_kind, _ name: UnsafePointer<CChar>?, _ nameLength: Int,
                   _ caller: UnsafePointer<mcph_caller>?) -> Int32 {
    guard let plugin = plugin(state) else { return MCPH_DENY }
    let rules = plugin.rules
    guard rules.hasCallerRules else { return MCPH_ALLOW }
    var subject = "", roles: [String] = []
    if let caller {
        let size = Int(caller.pointee.struct_size)
        if size >= callerSizeWithSubject { subject = string(caller.pointee.subject, caller.pointee.subject_len) }
        if size >= callerSizeWithRoles, caller.pointee.role_count > 0, let list = caller.pointee.roles, let lengths = caller.pointee.role_lens {
            // At most 1024 roles are read: a caller struct is the host's, but stay bounded anyway.
            for index in 0..<min(caller.pointee.role_count, 1024) { roles.append(string(list[index], lengths[index])) }
        }
    }
    return rules.allows(string(name, nameLength), subject: subject, roles: roles) ? MCPH_ALLOW : MCPH_DENY
}

// MARK: - Helpers

private func plugin(_ state: UnsafeMutableRawPointer?) -> FilterPlugin? {
    state.map { Unmanaged<FilterPlugin>.fromOpaque($0).takeUnretainedValue() }
}

private func noun(_ kind: mcph_item_kind) -> String {
    switch kind {
    case MCPH_ITEM_TOOL: return "tool"
    case MCPH_ITEM_PROMPT: return "prompt"
    case MCPH_ITEM_RESOURCE_TEMPLATE: return "resource template"
    default: return "resource"
    }
}
