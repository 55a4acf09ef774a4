import BenchSupport
import Hummingbird
import Logging

/// The framework floor: a Hummingbird app inside the benchmark binary, default configuration, on
/// 127.0.0.1:0, whose `POST /mcp` reads the body and answers a fixed JSON-RPC result the size of
/// mcp-host's echo answer. Driven with `mcp-bench-load --plain` over the same connections as the
/// host runs, it is the most any Hummingbird server can do on this machine with this client.
struct FloorServer: Sendable {
    /// The echo answer as mcp-host sends it (same bytes as the backend's, id spliced back).
    static let answer = #"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello, benchmark"}],"isError":false}}"#

    let url: String
    private let task: Task<Void, any Error>

    static func start() async throws -> FloorServer {
        let router = Router()
        router.post("/mcp") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20) // bodies over 1 MiB: an error answer
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: answer)))
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        // Stopping cancels the server with the loader's connections maybe still closing, which
        // Hummingbird logs as errors; only critical ones are shown.
        var logger = Logger(label: "floor")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? 0)
                                  continuation.finish()
                              }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await value in ports { port = value }
        guard port > 0 else {
            task.cancel()
            throw BenchError("the floor server did not start on 127.0.0.1")
        }
        return FloorServer(url: "http://127.0.0.1:\(port)/mcp", task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}
