import Foundation

/// mcp-host-bench: tool-call throughput through mcp-host against the same backend spoken to
/// directly, measured side by side in one run (rounds alternate, medians reported), so the ratio
/// holds on a noisy machine.
///
///     swift build -c release && .build/release/mcp-host-bench [--calls N] [--window W] [--rounds R] [--backend echo|example]
///
/// The backend is `mcp-bench-echo` (a minimal C server, so the host's own cost shows) or, with
/// `--backend example`, the example server built on the official Swift SDK. A client keeps W
/// requests in flight (pipelined `tools/call echo`) until N have been answered.
@main
struct Benchmark {
    struct Options {
        var calls = 20_000
        var window = 64
        var rounds = 3
        var backend = "echo"
    }

    static func main() throws {
        var options = Options()
        var arguments = CommandLine.arguments.dropFirst()
        while let flag = arguments.popFirst() {
            if flag == "--backend", let name = arguments.popFirst(), ["echo", "example"].contains(name) {
                options.backend = name
                continue
            }
            guard let value = arguments.popFirst().flatMap(Int.init), value > 0 else {
                FileHandle.standardError.write(Data("usage: mcp-host-bench [--calls N] [--window W] [--rounds R] [--backend echo|example]\n".utf8))
                exit(2)
            }
            switch flag {
            case "--calls": options.calls = value
            case "--window": options.window = value
            case "--rounds": options.rounds = value
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
        let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let server = binDir + (options.backend == "echo" ? "/mcp-bench-echo" : "/mcp-example-server")
        let host = binDir + "/mcp-host"
        let config = NSTemporaryDirectory() + "mcp-host-bench-\(getpid()).json"
        try Data(#"{"mcpServers": {"example": {"command": "\#(server)"}}}"#.utf8).write(to: URL(fileURLWithPath: config))
        defer { try? FileManager.default.removeItem(atPath: config) }
        let manifests = NSTemporaryDirectory() + "mcp-host-bench-plugins-\(getpid())"
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        for library in ["libmcph-stdio.so", "libmcph-namespace-router.so"] {
            try Data("\(binDir)/\(library)\n".utf8).write(to: URL(fileURLWithPath: "\(manifests)/\(library).plugin"))
        }
        defer { try? FileManager.default.removeItem(atPath: manifests) }

        print("calls=\(options.calls) window=\(options.window) rounds=\(options.rounds) backend=\(URL(fileURLWithPath: server).lastPathComponent) (stdio)")
        var direct: [Double] = [], proxied: [Double] = []
        for round in 1...options.rounds {
            let d = try run(executable: server, arguments: [], tool: "echo", options: options)
            let p = try run(executable: host, arguments: ["--plugins", manifests, "--config", config, "--log-level", "error"],
                            tool: "example__echo", options: options)
            direct.append(d)
            proxied.append(p)
            print("round \(round): direct \(Int(d)) calls/s, through mcp-host \(Int(p)) calls/s, ratio \(String(format: "%.2f", p / d))")
        }
        let medianDirect = median(direct), medianProxied = median(proxied)
        print("median: direct \(Int(medianDirect)) calls/s, through mcp-host \(Int(medianProxied)) calls/s, ratio \(String(format: "%.2f", medianProxied / medianDirect))")
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// Starts an MCP server on stdio, initializes it, and measures pipelined tool calls.
    static func run(executable: String, arguments: [String], tool: String, options: Options) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        let writer = input.fileHandleForWriting
        var reader = ResponseCounter(handle: output.fileHandleForReading)
        writer.write(Data(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#.utf8 + [0x0A]))
        _ = reader.waitForResponses(1)
        writer.write(Data(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8 + [0x0A]))
        // Warm-up: start the backend (through the host) and fill caches.
        writer.write(Data(call(id: 1, tool: tool).utf8))
        _ = reader.waitForResponses(1)

        let start = Date()
        var sent = 0
        var answered = 0
        while answered < options.calls {
            var batch = ""
            while sent < options.calls && sent - answered < options.window {
                batch += call(id: sent + 2, tool: tool)
                sent += 1
            }
            if !batch.isEmpty { writer.write(Data(batch.utf8)) }
            answered += reader.waitForResponses(1, atMost: sent - answered)
        }
        return Double(options.calls) / Date().timeIntervalSince(start)
    }

    static func call(id: Int, tool: String) -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":{"text":"hello, benchmark"}}}"# + "\n"
    }
}

/// Counts response lines on a pipe (blocking reads).
struct ResponseCounter {
    let handle: FileHandle
    var pending = 0
    var buffer = [UInt8]()

    init(handle: FileHandle) { self.handle = handle }

    /// Blocks until at least `minimum` more lines arrived; returns how many did (at most `atMost`
    /// are counted now, the rest stay for the next call).
    mutating func waitForResponses(_ minimum: Int, atMost: Int = .max) -> Int {
        while pending < minimum {
            let chunk = handle.availableData
            if chunk.isEmpty { fatalError("the server closed its output") }
            pending += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        let taken = min(pending, atMost)
        pending -= taken
        return taken
    }
}
