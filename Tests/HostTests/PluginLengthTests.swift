import PluginAPI
import Testing
@testable import Host

/// A plugin's `mcph_buf.len` is a `size_t`, imported into Swift as `Int`: a broken plugin writing
/// a value past `Int.max` (here `SIZE_MAX`) makes it negative. The host must not trap on it
/// (`0..<negative` does); it treats the answer as broken instead.
@Suite struct PluginLengthTests {
    /// SIZE_MAX as Swift sees it.
    static let impossible = Int(bitPattern: UInt.max)

    static func router(expose: @escaping @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int, UnsafeMutablePointer<mcph_buf>?) -> Int32,
                       route: @escaping @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, Int32, UnsafePointer<CChar>?, Int, UnsafeMutablePointer<mcph_buf>?, UnsafeMutablePointer<mcph_buf>?, UnsafeMutablePointer<mcph_buf>?) -> Int32) -> Router {
        // The descriptor is never read by Router; it only has to exist (leaked: test-lifetime).
        let descriptor = UnsafeMutablePointer<mcph_plugin_descriptor>.allocate(capacity: 1)
        descriptor.initialize(to: mcph_plugin_descriptor())
        let info = PluginInfo(id: "test.broken-lengths", name: "broken", version: "0", description: "", abiMajor: 1, abiMinor: 1,
                              kinds: UInt32(MCPH_KIND_ROUTER), path: "(test)")
        let plugin = LoadedPlugin(info: info, descriptor: descriptor, state: nil, deinitFunction: nil)
        let table = mcph_router_v1(struct_size: UInt32(MemoryLayout<mcph_router_v1>.size), expose: expose, route: route, allow: nil)
        return Router(plugin: RouterPlugin(plugin: plugin, table: table))
    }

    @Test func anImpossibleExposedNameLengthHidesTheItem() {
        let router = Self.router(
            expose: { _, _, _, _, _, _, out in out?.pointee.len = PluginLengthTests.impossible; return MCPH_EXPOSE_SHOW },
            route: { _, _, _, _, _, _, _, _, _ in MCPH_ROUTE_DEFAULT })
        #expect(router.expose(.tool, backend: "a", name: "x") == nil)
    }

    @Test func impossibleRouteLengthsAreNoOpinionOrAnEmptyMessage() {
        let forward = Self.router(
            expose: { _, _, _, _, _, _, _ in MCPH_EXPOSE_SHOW },
            route: { _, _, _, _, _, _, backend, name, _ in
                backend?.pointee.len = PluginLengthTests.impossible
                name?.pointee.len = PluginLengthTests.impossible
                return MCPH_ROUTE_FORWARD
            })
        #expect(forward.route(method: "tools/call", kind: .tool, name: "a__x") == .noOpinion)
        let reject = Self.router(
            expose: { _, _, _, _, _, _, _ in MCPH_EXPOSE_SHOW },
            route: { _, _, _, _, _, _, _, _, message in message?.pointee.len = PluginLengthTests.impossible; return MCPH_ROUTE_REJECT })
        #expect(reject.route(method: "tools/call", kind: .tool, name: "a__x") == .reject(""))
    }

    @Test func aRouteAnswerTooLongForTheBufferIsAskedAgainWithTheSizeItNeeds() {
        let router = Self.router(
            expose: { _, _, _, _, _, _, _ in MCPH_EXPOSE_SHOW },
            route: { _, _, _, _, _, _, backend, name, _ in
                guard let backend, let name else { return MCPH_ROUTE_DEFAULT }
                backend.pointee.len = 1
                name.pointee.len = 5000
                guard name.pointee.cap >= 5000, backend.pointee.cap >= 1, let b = backend.pointee.ptr, let n = name.pointee.ptr else {
                    return MCPH_ROUTE_FORWARD // too small: len says what it needs
                }
                b[0] = CChar(UInt8(ascii: "a"))
                for i in 0..<5000 { n[i] = CChar(UInt8(ascii: "x")) }
                return MCPH_ROUTE_FORWARD
            })
        #expect(router.route(method: "tools/call", kind: .tool, name: "a__long") == .forward(backend: "a", name: String(repeating: "x", count: 5000)))
    }
}
