import Locking

/// Client requests the host has accepted but not yet registered in a backend's `PendingTable`:
/// they are being routed (a name resolved, a list loaded) or wait for a backend to start.
///
/// It exists so that nothing is lost in that gap: a `notifications/cancelled` for such a request
/// marks it here and the request is dropped before it reaches a backend (without it the cancel
/// found nothing and the call ran and was answered anyway), and a second request with an id that
/// is already in flight for the same client is detected.
///
/// Hand-off rule, which makes cancel and hand-off race-free: the forwarder registers the request
/// in the backend's table *first* and then calls `finish`; a cancel looks here *first* and then in
/// the backends' tables. Whichever order the two run in, the cancel finds the request in one place.
public final class RoutingTable: Sendable {
    struct Key: Hashable {
        let session: UInt64
        let id: [UInt8]
    }

    /// One request on its way to a backend. `finish` exactly once (the forwarder), or never when
    /// the request is answered without reaching a backend (`abandon`).
    public final class Ticket: Sendable {
        let key: Key
        let serial: UInt64
        /// Monotonic deadline (ns) of the whole request, routing and cold start included, by the
        /// host's request timeout (a backend with its own timeout computes its own from `started`).
        public let deadline: UInt64
        /// When the request arrived (monotonic ns).
        public let started: UInt64
        fileprivate init(key: Key, serial: UInt64, deadline: UInt64, started: UInt64) {
            self.key = key
            self.serial = serial
            self.deadline = deadline
            self.started = started
        }
    }

    private struct Entry {
        let serial: UInt64
        var cancelled = false
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var serial: UInt64 = 0
    }

    private let state = Locked(State())

    public init() {}

    /// Requests being routed now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Records a request; nil when the same client already has a request with this id being routed.
    public func begin(session: UInt64, clientID: [UInt8], deadline: UInt64, now: UInt64 = MonotonicClock.nanoseconds()) -> Ticket? {
        state.withLock { state in
            let key = Key(session: session, id: clientID)
            guard state.entries[key] == nil else { return nil }
            state.serial &+= 1
            state.entries[key] = Entry(serial: state.serial)
            return Ticket(key: key, serial: state.serial, deadline: deadline, started: now)
        }
    }

    /// The request left this table (it is now in a backend's table, or was answered here).
    /// Returns true if the client cancelled it meanwhile: the caller must then drop it unanswered.
    @discardableResult
    public func finish(_ ticket: Ticket) -> Bool {
        state.withLock { state in
            guard let entry = state.entries[ticket.key], entry.serial == ticket.serial else { return false }
            state.entries[ticket.key] = nil
            return entry.cancelled
        }
    }

    /// Whether the client cancelled the request (it stays recorded until `finish`).
    public func isCancelled(_ ticket: Ticket) -> Bool {
        state.withLock { state in
            guard let entry = state.entries[ticket.key], entry.serial == ticket.serial else { return false }
            return entry.cancelled
        }
    }

    /// A client's cancel: true if the request is being routed (it is then dropped at hand-off).
    public func cancel(session: UInt64, clientID: [UInt8]) -> Bool {
        state.withLock { state in
            let key = Key(session: session, id: clientID)
            guard state.entries[key] != nil else { return false }
            state.entries[key]?.cancelled = true
            return true
        }
    }

    /// Whether the client has a request with this id being routed.
    public func contains(session: UInt64, clientID: [UInt8]) -> Bool {
        state.withLock { $0.entries[Key(session: session, id: clientID)] != nil }
    }

    /// Marks every request of an ended session cancelled.
    public func cancelSession(_ session: UInt64) {
        state.withLock { state in
            for key in state.entries.keys where key.session == session { state.entries[key]?.cancelled = true }
        }
    }
}
