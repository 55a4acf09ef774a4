#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The HTTP front-end: Streamable HTTP on `/mcp`, legacy HTTP+SSE on `/sse` + `/messages`, and
/// `/health` and `/metrics`. Every session shares the core (one process per backend).
public final class HTTPFrontEnd: Sendable {
    public let options: HTTPOptions
    let core: HostCore
    let logger: Logger
    let store: SessionStore
    let validationPolicy: HTTPValidationPolicy
    let metrics: HostMetrics
    private let shutdown = OneShot<Void>()

    public init(core: HostCore, options: HTTPOptions, metrics: HostMetrics, logger: Logger) {
        self.core = core
        self.options = options
        self.logger = logger
        self.metrics = metrics
        self.store = SessionStore(core: core, options: options, logger: logger)
        self.validationPolicy = HTTPValidationPolicy(allowedOrigins: options.allowedOrigins, bearerTokens: options.bearerTokens.map(\.secret),
                                                     maxBodyBytes: options.maxBodyBytes, supportedVersions: ProtocolVersions.supported)
    }

    /// Why a bind is refused: non-loopback without `--insecure` or bearer tokens.
    public static func bindRefusal(_ options: HTTPOptions) -> String? {
        guard !HTTPOptions.isLoopback(options.host), !options.insecure, options.bearerTokens.isEmpty else { return nil }
        return "refusing to listen on non-loopback address \(options.host): anyone on the network could use your MCP servers; configure bearer tokens (--auth-token-file or MCP_HOST_AUTH_TOKEN) or pass --insecure"
    }

    /// Who a request's `Authorization` header authenticates (the validation has already refused a
    /// request without a valid token when tokens are configured): the token's subject and roles,
    /// or no subject when no token is configured.
    func caller(authorization: String?) -> Caller {
        guard !options.bearerTokens.isEmpty, let authorization,
              let index = RequestValidation.bearerIndex(authorization, tokens: validationPolicy.bearerTokens) else {
            return .anonymous("http")
        }
        let token = options.bearerTokens[index]
        return Caller(subject: token.subject, roles: token.roles, frontEnd: "http")
    }

    /// Asks for a graceful stop (SIGTERM/SIGINT).
    public func stop() { shutdown.resolve(()) }

    /// Serves until `stop()`, then: stop accepting, close streams, let in-flight requests finish
    /// within `shutdownTimeout`, shut the core (and every backend) down.
    public func run() async throws {
        let app = Application(
            responder: MCPResponder(frontEnd: self),
            server: HTTPServerBuilder { responder in
                KeepAliveHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: .init()))
            },
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "mcp-host"),
            onServerRunning: { [logger] channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("serving MCP over HTTP", metadata: ["streamable": "http://\(channel.localAddress?.ipAddress ?? "?"):\(port)/mcp",
                                                                 "sse": "http://\(channel.localAddress?.ipAddress ?? "?"):\(port)/sse"])
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let sweeper = Task { [store] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                store.sweep()
            }
        }
        let stopper = Task { [shutdown, store, core, options, logger] in
            await shutdown.value()
            logger.info("shutting down: no new connections; in-flight requests get \(formatSeconds(options.shutdownTimeout)) s")
            await group.triggerGracefulShutdown()
            let deadline = MonotonicClock.deadline(after: options.shutdownTimeout, from: MonotonicClock.nanoseconds())
            while store.all.contains(where: { $0.client.outstanding > 0 }), MonotonicClock.nanoseconds() < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            await core.shutdown() // what is still in flight gets an error response
            store.endAll(reason: "mcp-host is shutting down")
        }
        do {
            try await group.run()
        } catch {
            stop()
            _ = await stopper.value
            sweeper.cancel()
            throw error
        }
        _ = await stopper.value
        sweeper.cancel()
    }
}

/// Hummingbird's HTTP/1.1 channel with TCP keepalive on every accepted socket: a client that
/// crashed without closing its connection is noticed within about a minute (30 s idle, then
/// probes every 10 s, 3 probes).
struct KeepAliveHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let tcp = SocketOptionLevel(IPPROTO_TCP)
        return channel.setOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .flatMap { channel.setOption(ChannelOptions.Types.SocketOption(level: tcp, name: SocketOptionName(TCP_KEEPIDLE)), value: 30) }
            .flatMap { channel.setOption(ChannelOptions.Types.SocketOption(level: tcp, name: SocketOptionName(TCP_KEEPINTVL)), value: 10) }
            .flatMap { channel.setOption(ChannelOptions.Types.SocketOption(level: tcp, name: SocketOptionName(TCP_KEEPCNT)), value: 3) }
            // Reads start small and grow only for a connection that sends much: most requests are
            // a few hundred bytes, and a thousand idle event streams should not hold 2 KiB each.
            .flatMap { channel.setOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 256, initial: 512, maximum: 65536)) }
            .flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// The request context: Hummingbird's core context plus the connection (to close a wedged stream).
struct MCPRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
