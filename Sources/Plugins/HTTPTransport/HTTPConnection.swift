import AsyncHTTPClient
import Foundation
import HTTPTransportCore
import Locking
import NIOCore
import PluginAPI

/// One remote MCP server, seen by the host as a message pipe.
///
/// Streamable HTTP (the default): every host message is POSTed; answers come back as JSON or as
/// an SSE stream; a GET stream carries what the server sends on its own. Legacy HTTP+SSE (`"type":
/// "sse"`, or detected): one GET stream carries everything, messages are POSTed to the endpoint it
/// names. See the extensions: `+Dispatch` (order of sends), `+Requests` (a request's POST and its
/// answer), `+Resume` (resuming a broken answer stream), `+GetStream`, `+Reinitialize` (a lost
/// session), `+Legacy`, `+Lifecycle` (close, failure, destroy), `+HTTP` (requests and bodies).
///
/// Tasks (Swift concurrency on AsyncHTTPClient's event loops; nothing blocks the pool): one
/// dispatcher takes messages in order; each request's POST runs in a task of its own; the GET
/// stream is one task. All are tracked, cancelled by `close` and awaited by `destroy`.
///
/// `@unchecked Sendable`: immutable properties, plus mutable state behind `Locked`.
final class HTTPConnection: @unchecked Sendable {
    /// Largest message (JSON body or SSE event) kept; larger ones are dropped with an error.
    static let maxMessageBytes = 64 << 20
    /// Longest wait before reconnecting the GET stream.
    static let getStreamBackoffCapMs = 30_000
    /// Resumption of a request's broken answer stream: attempts and longest wait.
    static let resumeAttempts = 5
    static let resumeBackoffCapMs = 10_000

    let config: HTTPConfig
    /// The host's requests (their POSTs and the GETs resuming their answers): `max_connections`.
    let client: HTTPClient
    /// Everything else, on a small pool of its own so that no number of long calls can starve it:
    /// the GET stream (held for the connection's life), notifications and answers to the server's
    /// requests (a cancellation is what ends a cancelled call's stream; a sampling answer is what
    /// a waiting call needs), the re-initialization, the legacy stream and its POSTs, the DELETE.
    let controlClient: HTTPClient
    let sink: ConnectionSink
    let tracker = TaskTracker()
    /// Set in `init` (the queue's WRITABLE callback needs `self`); never nil afterwards.
    private(set) var queue: SendQueue!
    /// Basic credentials from the URL's userinfo, sent when no Authorization header is configured.
    let basicAuthorization: String?
    /// Never repeated in an error message (see `HTTPConfig.secrets`).
    let secrets: [String]

    enum Mode {
        case streamable
        case legacy(endpoint: RemoteURL)
    }

    enum Reinitialization {
        case idle
        case running(waiters: [CheckedContinuation<Bool, Never>])
    }

    struct State {
        var closing = false
        var mode = Mode.streamable
        var sessionId: String?
        var protocolVersion: String?
        /// The host's requests whose POST is in flight, by `JSONRPCMessage.idKey`.
        var inflight: [String: InflightRequest] = [:]
        /// The host's initialize request and initialized notification, as sent (replayed after a lost session).
        var recordedInitialize: [UInt8]?
        var recordedInitialized: [UInt8]?
        var reinitialization = Reinitialization.idle
        var reinitializations = 0
        var getStream: Task<Void, Never>?
        var getStreamGeneration = 0
    }
    let state = Locked(State())

    private init(config: HTTPConfig, client: HTTPClient, controlClient: HTTPClient, sink: ConnectionSink) {
        self.config = config
        self.client = client
        self.controlClient = controlClient
        self.sink = sink
        self.secrets = config.secrets
        if let userinfo = config.url.userinfo, !config.headers.contains(where: { $0.name.lowercased() == "authorization" }) {
            basicAuthorization = "Basic " + Data("\(userinfo.user):\(userinfo.password)".utf8).base64EncodedString()
        } else {
            basicAuthorization = nil
        }
        queue = SendQueue(onWritable: { [weak self] in self?.sink.event(MCPH_EVENT_WRITABLE) })
    }

    struct OpenError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses and checks the configuration and makes the connection (no I/O yet).
    static func make(plugin: HTTPPlugin, config bytes: [UInt8], callbacks: mcph_conn_callbacks,
                     callbacksSize: Int) -> Result<HTTPConnection, OpenError> {
        let config: HTTPConfig
        do { config = try HTTPConfig.parse(bytes) } catch {
            return .failure(OpenError(description: error.description))
        }
        let proxy: ProxySettings?
        do {
            proxy = try ProxySettings.forURL(config.url, environment: ProcessInfo.processInfo.environment)
        } catch {
            return .failure(OpenError(description: "proxy for \(config.shownURL): \(error.description)"))
        }
        let sink = ConnectionSink(callbacks: callbacks, declaredSize: callbacksSize, hostMinor: plugin.hostMinor)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                configuration: clientConfiguration(config, proxy: proxy, connections: config.maxConnections))
        let controlClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                       configuration: clientConfiguration(config, proxy: proxy, connections: controlConnections))
        let connection = HTTPConnection(config: config, client: client, controlClient: controlClient, sink: sink)
        if let proxy { connection.log(MCPH_LOG_DEBUG, "using the proxy \(proxy.redacted)") }
        return .success(connection)
    }

    /// The control pool: the GET (or legacy) stream (two for a moment while one replaces the
    /// other), one notification or answer at a time (the dispatcher sends them in order), a
    /// re-initialization step, the DELETE. Connections open only when needed: slack costs nothing.
    static let controlConnections = 8

    static func clientConfiguration(_ config: HTTPConfig, proxy: ProxySettings?, connections: Int) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        // Redirects are not followed: a redirect to another origin would carry the configured
        // headers (credentials) there. A 3xx is reported with the URL to configure instead.
        configuration.redirectConfiguration = .disallow
        let connectNanoseconds = Int64(min(max(config.connectTimeoutSeconds, 0.001), 3600) * 1_000_000_000)
        configuration.timeout = .init(connect: .nanoseconds(connectNanoseconds), read: nil) // no read timeout: SSE streams are long
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        // A refused connection fails the request at once (a server that is down gives its callers
        // an error now, not after connect_timeout); connect_timeout bounds connects that hang.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .automatic
        if let proxy {
            let authorization = proxy.username.map { HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "") }
            configuration.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
        }
        return configuration
    }

    /// Streamable HTTP is ready at once (the first POST connects); legacy SSE once the stream
    /// named its endpoint.
    func start() {
        switch config.mode {
        case .streamable:
            sink.event(MCPH_EVENT_OPENED, detail: "streamable HTTP \(config.shownURL)")
            tracker.spawn { [self] in await runDispatcher() }
        case .legacy:
            tracker.spawn { [self] in
                switch await openLegacyStream() {
                case .success(let endpoint):
                    state.withLock { $0.mode = .legacy(endpoint: endpoint) }
                    sink.event(MCPH_EVENT_OPENED, detail: "HTTP+SSE \(config.shownURL)")
                    log(MCPH_LOG_INFO, "connected to backend '\(config.name)' at \(config.shownURL) (legacy HTTP+SSE)")
                    await runDispatcher()
                case .failure(let problem):
                    fail(problem.text)
                }
            }
        }
    }

    // MARK: - Host-facing operations

    func send(_ message: UnsafeBufferPointer<UInt8>) -> mcph_status {
        switch queue.enqueue(message) {
        case .queued: return MCPH_OK
        case .full: return MCPH_E_AGAIN
        case .closed: return MCPH_E_CLOSED
        }
    }

    func log(_ level: mcph_log_level, _ text: String) {
        sink.log(level, text)
    }

    var isClosing: Bool { state.withLock { $0.closing } }
}

/// One of the host's requests whose POST is in flight.
final class InflightRequest: Sendable {
    /// The id exactly as the host sent it.
    let id: [UInt8]
    let key: String
    let isInitialize: Bool
    /// Set (under the sink's delivery lock) when the host cancelled it or it was answered: nothing
    /// more is delivered for it.
    let settled = Locked(false)
    let task = Locked<Task<Void, Never>?>(nil)

    init(id: [UInt8], isInitialize: Bool) {
        self.id = id
        self.key = JSONRPCMessage.idKey(id)
        self.isInitialize = isInitialize
    }

    var isSettled: Bool { settled.withLock { $0 } }
}
