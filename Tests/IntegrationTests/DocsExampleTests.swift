import Foundation
import Testing

/// The code in the plugin guide stays true: docs/plugins.md's C transport compiles with the flags
/// the guide gives, exports only the entry symbol, and loads in the real host.
@Suite struct DocsExampleTests {
    @Test func theGuidesTransportCompilesExportsOneSymbolAndLoads() throws {
        let guide = try String(contentsOfFile: Paths.packageRoot + "/docs/plugins.md", encoding: .utf8)
        let start = try #require(guide.range(of: "```c\n"), "docs/plugins.md has a C example")
        let end = try #require(guide.range(of: "```", range: start.upperBound..<guide.endIndex))
        let dir = try Paths.temporaryDirectory()
        try String(guide[start.upperBound..<end.lowerBound]).write(toFile: dir + "/mine.c", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/plugins", withIntermediateDirectories: true)
        let library = dir + "/plugins/libmine.so"
        let built = try run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-O2", "-pthread",
                                             "-fvisibility=hidden", "-I", Paths.packageRoot + "/Sources/PluginAPI/include",
                                             "-o", library, dir + "/mine.c"])
        #expect(built.status == 0, "\(built.stderr)")
        let symbols = try run("/usr/bin/env", ["nm", "-D", "--defined-only", library])
        let names = symbols.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(names == ["mcph_plugin_entry_v1"], "\(symbols.stdout)")
        let listed = try run(Paths.host, ["plugins", "--plugins", dir + "/plugins"])
        #expect(listed.stdout.contains("loaded   example.mine") && listed.stdout.contains("transport mine"), "\(listed.stdout)\n\(listed.stderr)")
    }
}
