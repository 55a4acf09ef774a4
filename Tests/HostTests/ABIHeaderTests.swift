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
    ]

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

    @Test func entrySymbolCarriesTheMajorVersion() {
        #expect(PluginABI.entrySymbol == "mcph_plugin_entry_v\(MCPH_ABI_MAJOR)")
    }
}
