import Foundation
import Metrics
import Prometheus

/// Metrics (swift-metrics, exported by swift-prometheus at `/metrics`) and the `/health` document.
public final class HostMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    /// Methods that get their own label value; anything else is counted as "other", so a client
    /// cannot grow the number of series without bound.
    static let knownMethods: Set<String> = [
        "initialize", "ping", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list",
        "resources/templates/list", "resources/read", "completion/complete", "logging/setLevel", "server/discover",
    ]

    /// The request metrics of one method label, made once (a swift-metrics handle made per
    /// request costs a factory lookup, locks and string hashing on every answer).
    private struct RequestMetrics: Sendable {
        let ok: Metrics.Counter
        let error: Metrics.Counter
        let none: Metrics.Counter
        let duration: Metrics.Timer

        init(label: String) {
            ok = Metrics.Counter(label: "mcp_host_requests_total", dimensions: [("method", label), ("outcome", "ok")])
            error = Metrics.Counter(label: "mcp_host_requests_total", dimensions: [("method", label), ("outcome", "error")])
            none = Metrics.Counter(label: "mcp_host_requests_total", dimensions: [("method", label), ("outcome", "none")])
            duration = Metrics.Timer(label: "mcp_host_request_duration_seconds", dimensions: [("method", label)])
        }
    }

    /// By method label: every known method and "other" (a fixed set, made at start).
    private let requestMetrics: [String: RequestMetrics]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        var metrics: [String: RequestMetrics] = [:]
        for label in Self.knownMethods.union(["other"]) { metrics[label] = RequestMetrics(label: label) }
        requestMetrics = metrics
    }

    /// Installs the Prometheus backend for swift-metrics (once per process) and returns the metrics.
    public static func bootstrap() -> HostMetrics {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return HostMetrics(registry: registry)
    }

    /// One answered request: its method, whether the answer was an error, and its latency.
    func recordRequest(method: String, response: [UInt8]?, started: UInt64) {
        guard let metrics = requestMetrics[method] ?? requestMetrics["other"] else { return }
        if let response, let envelope = try? Envelope.parse(response) {
            (envelope.member("error") == nil ? metrics.ok : metrics.error).increment()
        } else {
            metrics.none.increment()
        }
        metrics.duration.recordNanoseconds(MonotonicClock.int64(MonotonicClock.elapsed(from: started, to: MonotonicClock.nanoseconds())))
    }

    /// The Prometheus text exposition, with point-in-time gauges refreshed first.
    ///
    /// In-flight gauges (from `HostCore.inFlightState()`; all drain to zero when the host is idle):
    /// `mcp_host_backend_requests_in_flight{backend}`, `mcp_host_requests_routing` (accepted, not yet
    /// at a backend), `mcp_host_backend_requests_awaiting_client`,
    /// `mcp_host_subscriptions{backend}`, and `mcp_host_sessions{kind}`, whose sum over `kind` is
    /// the core's open sessions (`kind="other"`: sessions not from this HTTP front-end, such as
    /// the host's own).
    func render(core: HostCore, sessions: SessionStore) -> [UInt8] {
        let all = sessions.all
        let state = core.inFlightState()
        var http = 0
        for kind in [HTTPSession.Kind.streamable, .legacy] {
            let count = all.filter { $0.kind == kind }.count
            http += count
            Gauge(label: "mcp_host_sessions", dimensions: [("kind", kind.rawValue)]).record(count)
        }
        // The two counts are read at slightly different moments (a session opens in the core
        // before the store lists it): never report a negative remainder.
        Gauge(label: "mcp_host_sessions", dimensions: [("kind", "other")]).record(max(0, state.sessions - http))
        Gauge(label: "mcp_host_backend_requests_awaiting_client").record(state.awaitingClient)
        Gauge(label: "mcp_host_requests_routing").record(state.routing)
        for name in core.backendNames {
            guard let backend = core.backend(named: name) else { continue }
            let stateName = backend.stateName
            for candidate in ["stopped", "starting", "ready", "idle", "reaping", "backing-off", "removed"] {
                Gauge(label: "mcp_host_backend_state", dimensions: [("backend", name), ("state", candidate)]).record(candidate == stateName ? 1 : 0)
            }
            let inFlight = state.requests[name] ?? 0
            Gauge(label: "mcp_host_backend_requests_in_flight", dimensions: [("backend", name)]).record(inFlight)
            Gauge(label: "mcp_host_backend_in_flight", dimensions: [("backend", name)]).record(inFlight) // deprecated name, kept for dashboards
            Gauge(label: "mcp_host_subscriptions", dimensions: [("backend", name)]).record(state.subscriptions[name] ?? 0)
        }
        return registry.emitToBuffer()
    }

    /// `/health`: overall status, counts and per-backend state, as JSON.
    func health(core: HostCore, sessions: Int) -> [UInt8] {
        var backends: [String: Any] = [:]
        var connected = 0, inFlight = 0
        for name in core.backendNames {
            guard let backend = core.backend(named: name) else { continue }
            let status = backend.status()
            if status.state == "ready" || status.state == "idle" { connected += 1 }
            inFlight += status.inFlight
            backends[name] = status.json
        }
        let document: [String: Any] = [
            "status": "ok",
            "version": HostVersion.string,
            "backends_configured": core.backendNames.count,
            "backends_connected": connected,
            "active_clients": sessions,
            "tools": core.catalog.count(.tool),
            "in_flight": inFlight,
            "backends": backends,
        ]
        return CanonicalJSON.data(document) ?? Array("{}".utf8)
    }
}
