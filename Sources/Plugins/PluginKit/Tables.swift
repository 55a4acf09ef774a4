#if canImport(Glibc)
import Glibc
#endif
import PluginAPI

// The tables a bundled Swift plugin hands to the host: its descriptor and its interface tables.
// Each is built once (by a plugin's lazy global) and never freed, as the ABI wants them to outlive
// every call; their strings are strdup'ed copies, never freed either.
//
// PluginKit is linked statically into each plugin; the plugins' version script keeps every symbol
// of it local, so a plugin still exports its entry symbol alone.

/// The C function types of `mcph_plugin_descriptor`, `mcph_transport_v1` and `mcph_router_v1`.
public typealias PluginInitFunction = @convention(c) (UnsafePointer<mcph_host>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                                      UnsafeMutablePointer<CChar>?, Int) -> mcph_status
public typealias GetInterfaceFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> UnsafeRawPointer?
public typealias PluginDeinitFunction = @convention(c) (UnsafeMutableRawPointer?) -> Void
public typealias ReconfigureFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int,
                                                       UnsafeMutablePointer<CChar>?, Int) -> mcph_status
public typealias TransportOpenFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, UnsafePointer<mcph_conn_callbacks>?,
                                                         UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<CChar>?, Int) -> mcph_status
public typealias TransportSendFunction = @convention(c) (UnsafeMutableRawPointer?, mcph_bytes) -> mcph_status
public typealias TransportCloseFunction = @convention(c) (UnsafeMutableRawPointer?, UInt32) -> mcph_status
public typealias TransportDestroyFunction = @convention(c) (UnsafeMutableRawPointer?) -> Void
public typealias RouterExposeFunction = @convention(c) (UnsafeMutableRawPointer?, mcph_item_kind, UnsafePointer<CChar>?, Int,
                                                        UnsafePointer<CChar>?, Int, UnsafeMutablePointer<mcph_buf>?) -> Int32
public typealias RouterRouteFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, mcph_item_kind,
                                                       UnsafePointer<CChar>?, Int, UnsafeMutablePointer<mcph_buf>?,
                                                       UnsafeMutablePointer<mcph_buf>?, UnsafeMutablePointer<mcph_buf>?) -> mcph_route_decision
public typealias RouterAllowFunction = @convention(c) (UnsafeMutableRawPointer?, mcph_item_kind, UnsafePointer<CChar>?, Int,
                                                       UnsafePointer<mcph_caller>?) -> Int32

/// `value` in memory that is never freed.
private func permanent<Value>(_ value: Value) -> UnsafeMutablePointer<Value> {
    let pointer = UnsafeMutablePointer<Value>.allocate(capacity: 1)
    pointer.initialize(to: value)
    return pointer
}

/// A NUL-terminated copy of `text` that is never freed (nil if there is no memory for it).
private func permanent(_ text: String) -> UnsafePointer<CChar>? {
    UnsafePointer(strdup(text))
}

/// The plugin's descriptor, built against this header's ABI (MCPH_ABI_MAJOR.MCPH_ABI_MINOR).
public func makeDescriptor(id: String, name: String, version: String, description: String, kinds: UInt32,
                           init: PluginInitFunction?, getInterface: GetInterfaceFunction?,
                           deinit: PluginDeinitFunction?, reconfigure: ReconfigureFunction? = nil)
    -> UnsafeMutablePointer<mcph_plugin_descriptor> {
    permanent(mcph_plugin_descriptor(
        struct_size: UInt32(MemoryLayout<mcph_plugin_descriptor>.size),
        abi_major: UInt16(MCPH_ABI_MAJOR),
        abi_minor: UInt16(MCPH_ABI_MINOR),
        id: permanent(id),
        name: permanent(name),
        version: permanent(version),
        description: permanent(description),
        kinds: kinds,
        init: `init`,
        get_interface: getInterface,
        deinit: `deinit`,
        reconfigure: reconfigure))
}

/// A `mcph.transport/1` table for the transport `name`.
public func makeTransportTable(name: String, open: TransportOpenFunction?, send: TransportSendFunction?,
                               close: TransportCloseFunction?, destroy: TransportDestroyFunction?)
    -> UnsafeMutablePointer<mcph_transport_v1> {
    permanent(mcph_transport_v1(
        struct_size: UInt32(MemoryLayout<mcph_transport_v1>.size),
        name: permanent(name),
        open: open,
        send: send,
        close: close,
        destroy: destroy))
}

/// A `mcph.router/1` table.
public func makeRouterTable(expose: RouterExposeFunction?, route: RouterRouteFunction?,
                            allow: RouterAllowFunction?) -> UnsafeMutablePointer<mcph_router_v1> {
    permanent(mcph_router_v1(struct_size: UInt32(MemoryLayout<mcph_router_v1>.size), expose: expose, route: route, allow: allow))
}

/// `get_interface`'s answer: `table` when the host asks for `wanted` (e.g. MCPH_IFACE_TRANSPORT_V1),
/// else nil (and `table` is not evaluated).
public func interface<Table>(_ id: UnsafePointer<CChar>?, _ wanted: String,
                             _ table: @autoclosure () -> UnsafeMutablePointer<Table>) -> UnsafeRawPointer? {
    guard let id, strcmp(id, wanted) == 0 else { return nil }
    return UnsafeRawPointer(table())
}
