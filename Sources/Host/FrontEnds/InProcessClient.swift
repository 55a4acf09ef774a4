import Locking
import Synchronization

/// A client inside the host process, for the one-shot commands (`mcp-host tools`, `mcp-host call`):
/// it goes through the same core, plugins, router and multiplexer as any external client.
public final class InProcessClient: Sendable {
    private let core: HostCore
    private final class Waiters: Sendable {
        let byID = Locked<[String: OneShot<Envelope>]>([:])
    }

    private let pending = Waiters()
    private let nextID = Atomic<Int>(1)
    private let sessionBox = Locked<ClientSession?>(nil)

    public init(core: HostCore) {
        self.core = core
        let pending = self.pending
        let session = core.openSession(label: "cli") { message in
            guard let envelope = try? Envelope.parse(message), envelope.kind == .response, let id = envelope.idBytes else { return }
            let waiter = pending.byID.withLock { $0.removeValue(forKey: String(decoding: id, as: UTF8.self)) }
            waiter?.resolve(envelope)
        }
        sessionBox.withLock { $0 = session }
        session.state.withLock { $0.initialized = true }
    }

    /// Sends a request with raw JSON `params` and waits for its response envelope.
    public func request(_ method: String, params: [UInt8]?) async -> Envelope {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let waiter = OneShot<Envelope>()
        pending.byID.withLock { $0[String(id)] = waiter }
        let session = sessionBox.withLock { $0! }
        core.receive(JSONRPC.request(id: Array(String(id).utf8), method: method, params: params), from: session)
        return await waiter.value()
    }

    public func close() {
        if let session = sessionBox.withLock({ $0 }) { core.closeSession(session) }
    }
}
