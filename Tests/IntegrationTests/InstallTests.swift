import Foundation
import Testing

/// `make install PREFIX=...` gives a binary that finds its plugins from any directory.
@Suite struct InstallTests {
    @Test func installedHostFindsItsPluginsFromAnyDirectory() throws {
        let prefix = try Paths.temporaryDirectory() + "/prefix"
        // Installs the debug build the tests run on; a user gets a release build by default.
        let install = try run("/usr/bin/env", ["make", "-s", "install", "PREFIX=\(prefix)", "CONFIGURATION=debug", "NO_BUILD=1"])
        #expect(install.status == 0, "\(install.stderr)")
        let elsewhere = try Paths.temporaryDirectory()
        let plugins = try run(prefix + "/bin/mcp-host", ["plugins"], cwd: elsewhere)
        #expect(plugins.stdout.contains("loaded   mcph.stdio"), "\(plugins.stdout)")
        #expect(plugins.stdout.contains(prefix + "/lib/mcp-host/plugins/libmcph-stdio.so"))

        let config = try writeConfig(["f": fakeServer(name: "f")], in: elsewhere)
        let call = try run(prefix + "/bin/mcp-host", ["call", "f__echo", #"{"text": "installed"}"#, "--config", config], cwd: elsewhere)
        #expect(call.status == 0, "\(call.stderr)")
        #expect(call.stdout == "installed\n")
    }
}
