import BenchSupport
import Foundation

/// Where the binaries are, and a scratch directory for configs, plugin manifests and state
/// directories (removed at the end of the run).
struct BenchEnvironment: Sendable {
    /// The directory of mcp-host-bench, which holds mcp-host, mcp-bench-echo, mcp-bench-load and
    /// the plugin libraries of the same build.
    let binDirectory: String
    let scratch: String

    var host: String { binDirectory + "/mcp-host" }
    var echoServer: String { binDirectory + "/mcp-bench-echo" }
    var exampleServer: String { binDirectory + "/mcp-example-server" }
    var loader: String { binDirectory + "/mcp-bench-load" }

    init() throws {
        binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        scratch = NSTemporaryDirectory() + "mcp-host-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: scratch) }

    /// Checks that a binary the run needs exists, with a message saying how to build it.
    func require(_ path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchError("\(path) is missing; build everything first (swift build -c release)")
        }
    }

    /// A servers file with these backends (name -> command) in the scratch directory.
    func writeConfig(_ name: String, servers: [(name: String, command: String)]) throws -> String {
        let entries = servers.map { #""\#($0.name)": {"command": "\#($0.command)"}"# }.joined(separator: ", ")
        let path = "\(scratch)/\(name).json"
        try Data(#"{"mcpServers": {\#(entries)}}"#.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A plugin directory with just the stdio transport and the namespace router of this build:
    /// the smallest host, for the throughput runs.
    func minimalPlugins() throws -> String {
        let directory = scratch + "/plugins-minimal"
        if FileManager.default.fileExists(atPath: directory) { return directory }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for library in ["libmcph-stdio.so", "libmcph-namespace-router.so"] {
            try require(binDirectory + "/" + library)
            try Data("\(binDirectory)/\(library)\n".utf8).write(to: URL(fileURLWithPath: "\(directory)/\(library).plugin"))
        }
        return directory
    }

    /// `plugins.d` as shipped: its manifests name `${EXE_DIR}/lib….so`, resolved against the
    /// mcp-host binary's directory, so with this build's mcp-host they load this build's (e.g.
    /// release) libraries. Found from `--plugins`, else the working directory, else upwards from
    /// the binary (…/.build/<triple>/release → the package root).
    func shippedPlugins(_ given: String?) throws -> String {
        if let given { return given }
        var candidates = [FileManager.default.currentDirectoryPath + "/plugins.d"]
        var directory = URL(fileURLWithPath: binDirectory)
        for _ in 0..<5 {
            directory.deleteLastPathComponent()
            candidates.append(directory.path + "/plugins.d")
        }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw BenchError("cannot find plugins.d (looked in \(candidates.joined(separator: ", "))); pass --plugins DIR")
        }
        return found
    }

    /// A fresh, empty state directory (no catalog cache from an earlier run).
    func freshStateDirectory(_ name: String) throws -> String {
        let path = "\(scratch)/state-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
