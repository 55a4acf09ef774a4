import Foundation
import Logging
import Testing
@testable import Host

/// The bundled namespacing router, loaded with dlopen through the router interface, exactly as
/// the host loads it.
@Suite struct NamespaceRouterTests {
    static let router: Router = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let buildDir = ProcessInfo.processInfo.environment["MCP_HOST_BUILD_DIR"] ?? url.path + "/.build/debug"
        let dir = NSTemporaryDirectory() + "mcph-router-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? FileManager.default.createSymbolicLink(atPath: dir + "/router.so", withDestinationPath: buildDir + "/libmcph-namespace-router.so")
        let registry = PluginLoader(logger: Logger(label: "test")).load(directories: [dir])
        return Router(plugin: registry.routers.first)
    }()

    @Test func loadsThroughTheRouterInterface() {
        #expect(Self.router.plugin?.plugin.info.id == "mcph.namespace")
    }

    @Test func prefixesToolsAndPromptsAndKeepsResourceURIs() {
        #expect(Self.router.expose(.tool, backend: "git", name: "git_status") == "git__git_status")
        #expect(Self.router.expose(.prompt, backend: "git", name: "Commit message") == "git__Commit message")
        #expect(Self.router.expose(.resource, backend: "fs", name: "file:///tmp/a b") == "file:///tmp/a b")
    }

    @Test func shortensLongOrIllegalToolNamesDeterministically() throws {
        let long = String(repeating: "x", count: 200)
        let a = try #require(Self.router.expose(.tool, backend: "srv", name: long))
        let b = try #require(Self.router.expose(.tool, backend: "srv", name: long + "y"))
        #expect(a.count <= 128 && b.count <= 128)
        #expect(a != b, "different originals stay distinct")
        #expect(a == Self.router.expose(.tool, backend: "srv", name: long), "deterministic")
        let spaced = try #require(Self.router.expose(.tool, backend: "srv", name: "do it/now"))
        #expect(spaced.utf8.allSatisfy { $0 == 95 || $0 == 46 || $0 == 45 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        #expect(spaced.hasPrefix("srv__do_it_now_"))
    }

    @Test func routesNamespacedNames() {
        #expect(Self.router.route(method: "tools/call", kind: .tool, name: "git__git_status") == .forward(backend: "git", name: "git_status"))
        #expect(Self.router.route(method: "tools/call", kind: .tool, name: "a__b__c") == .forward(backend: "a", name: "b__c"))
        if case .reject(let message) = Self.router.route(method: "tools/call", kind: .tool, name: "plain") {
            #expect(message.contains("SERVER__NAME"))
        } else {
            Issue.record("a name without a namespace was not rejected")
        }
        #expect(Self.router.route(method: "resources/read", kind: .resource, name: "file:///x") == .noOpinion)
    }
}
