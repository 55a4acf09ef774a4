import Foundation
import PluginAPI
import Testing
@testable import Host

/// The header is the ABI: any change to it must come with a version bump (and a new pin here).
@Suite struct ABIHeaderTests {
    /// FNV-1a 64 of `Sources/PluginAPI/include/mcph_plugin.h`, per ABI version. When you change
    /// the header: bump MCPH_ABI_MINOR (appending) or MCPH_ABI_MAJOR (breaking, also renames the
    /// entry symbol), add the new version's hash here, and update docs/plugin-abi.md.
    static let pinned: [String: String] = [
        "1.0": "75b96613fa99ae13",
        "1.1": "a123996fd7e121cd",
        "1.2": "a4272f17bbfdb74d",
        "1.3": "b98ed4b8bac28484",
        "1.4": "22c5c47839f23b75",
    ]

    static var fixtureHeaderPath: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/Tests/Fixtures/abi-1.0/mcph_plugin.h"
    }

    static var headerPath: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/Sources/PluginAPI/include/mcph_plugin.h"
    }

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    @Test func headerChangesComeWithAVersionBump() throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.headerPath))
        let version = "\(MCPH_ABI_MAJOR).\(MCPH_ABI_MINOR)"
        let pinned = try #require(Self.pinned[version], "ABI \(version) has no pinned header hash: add \"\(version)\": \"\(Self.fnv1a64(Array(bytes)))\"")
        #expect(Self.fnv1a64(Array(bytes)) == pinned,
                "mcph_plugin.h changed but MCPH_ABI_MINOR/MAJOR (\(version)) did not: bump the version and pin the new hash")
    }

    /// The frozen 1.0 header stands for binaries already built: it must never change.
    @Test func theFrozen1_0HeaderIsUntouched() throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.fixtureHeaderPath))
        #expect(Self.fnv1a64(Array(bytes)) == Self.pinned["1.0"])
    }

    /// The loader's minimum sizes are the 1.0 sizes (LP64 values, as frozen in abi_layout.c),
    /// not whatever `sizeof` the current header gives.
    @Test func minimumStructSizesAreTheABI1_0Sizes() {
        #expect(PluginABI.hostV1Size == 40)
        #expect(PluginABI.descriptorV1Size == 72)
        #expect(PluginABI.callbacksV1Size == 40)
        #expect(PluginABI.transportV1Size == 48)
        #expect(PluginABI.routerV1Size == 24)
        // Appended in 1.3: on_related_message (one more function pointer).
        #expect(MemoryLayout<mcph_conn_callbacks>.offset(of: \.on_related_message) == 40)
        #expect(MemoryLayout<mcph_conn_callbacks>.size == 48)
    }

    /// A growable struct declared shorter than the reader's: only the declared bytes are read,
    /// the rest reads as absent (zero).
    @Test func growableStructsAreReadUpToTheirDeclaredSize() {
        // A peer's 1.0 router table followed by bytes that are not part of it.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0xAB, count: 64)
        raw.storeBytes(of: UInt32(16), as: UInt32.self) // declares struct_size + expose only
        let table = PluginABI.readGrowable(raw, declaredSize: 16, as: mcph_router_v1.self)
        #expect(table.struct_size == 16)
        #expect(table.expose != nil, "within the declared size")
        #expect(table.route == nil, "past the declared size: absent, not the bytes that follow")
    }

    /// `expose` answers: 1.0 plugins hide with 1 (= MCPH_E_INVALID); 1.1+ hide with -1 and 1 is
    /// an error.
    @Test func exposeHideIsReadByThePluginsMinor() {
        #expect(MCPH_EXPOSE_HIDE != MCPH_E_INVALID)
        #expect(Router.interpretExpose(MCPH_EXPOSE_HIDE_1_0, pluginMinor: 0) == .hide)
        #expect(Router.interpretExpose(MCPH_EXPOSE_HIDE, pluginMinor: 1) == .hide)
        #expect(Router.interpretExpose(MCPH_E_INVALID, pluginMinor: 1) == .error(MCPH_E_INVALID))
        #expect(Router.interpretExpose(MCPH_E_FAILED, pluginMinor: 0) == .error(MCPH_E_FAILED))
        #expect(Router.interpretExpose(MCPH_EXPOSE_SHOW, pluginMinor: 0) == .show)
        #expect(Router.interpretExpose(MCPH_E_TOO_SMALL, pluginMinor: 1) == .tooSmall)
    }

    @Test func entrySymbolCarriesTheMajorVersion() {
        #expect(PluginABI.entrySymbol == "mcph_plugin_entry_v\(MCPH_ABI_MAJOR)")
    }
}
