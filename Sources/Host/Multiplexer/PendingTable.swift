/// The in-flight requests of one backend: the heart of the multiplexer. Pure state, no I/O.
///
/// Every request sent to a backend gets a fresh backend-side id from a per-backend counter, so the
/// requests of many clients (which may all use id `1`) never collide. The table maps it back to
/// the client's session and the client's exact id bytes (`7` and `"7"` stay distinct). The same
/// number doubles as the host-unique progress token toward the backend, so a
/// `notifications/progress` maps back to its request (and its client's own token) in one lookup.
public struct PendingTable<Waiter> {
    public struct Entry {
        public let waiter: Waiter
        /// The client session (0 for the host's own requests, such as `initialize`).
        public let session: UInt64
        /// The client's id, byte for byte.
        public let clientID: [UInt8]
        /// The client's progress token, byte for byte, when it asked for progress.
        public let progressToken: [UInt8]?
        /// Monotonic deadline in nanoseconds.
        public let deadline: UInt64
        public let method: String

        public init(waiter: Waiter, session: UInt64, clientID: [UInt8], progressToken: [UInt8]?, deadline: UInt64, method: String) {
            self.waiter = waiter
            self.session = session
            self.clientID = clientID
            self.progressToken = progressToken
            self.deadline = deadline
            self.method = method
        }
    }

    private struct ClientKey: Hashable {
        let session: UInt64
        let id: [UInt8]
    }

    private var nextID: Int64 = 1
    private var entries: [Int64: Entry] = [:]
    private var byClient: [ClientKey: Int64] = [:]
    /// Requests in flight per client session (for the per-client cap); no zero entries.
    private var perSession: [UInt64: Int] = [:]

    public init() {}

    public var count: Int { entries.count }

    /// Requests of one client session in flight here.
    public func count(session: UInt64) -> Int { perSession[session] ?? 0 }

    /// Registers a request and returns its backend-side id.
    public mutating func register(_ entry: Entry) -> Int64 {
        let id = nextID
        nextID &+= 1 // 2^63 requests: never reached; wrapping instead of trapping all the same
        entries[id] = entry
        if entry.session != 0 {
            byClient[ClientKey(session: entry.session, id: entry.clientID)] = id
            perSession[entry.session, default: 0] += 1
        }
        return id
    }

    /// Removes and returns the request a backend response answers; nil for an unknown or late id.
    public mutating func complete(_ backendID: Int64) -> Entry? {
        guard let entry = entries.removeValue(forKey: backendID) else { return nil }
        removeClientKey(entry, backendID)
        return entry
    }

    /// The request a backend's progress token (our backend-side id) belongs to, left in place.
    public func progressTarget(_ token: Int64) -> Entry? {
        guard let entry = entries[token], entry.progressToken != nil else { return nil }
        return entry
    }

    /// The request with this backend-side id, left in place; nil for an unknown or finished one.
    public func entry(_ backendID: Int64) -> Entry? { entries[backendID] }

    /// Removes the request a client cancelled; returns its backend id to cancel there.
    public mutating func cancel(session: UInt64, clientID: [UInt8]) -> (id: Int64, entry: Entry)? {
        guard let id = byClient[ClientKey(session: session, id: clientID)], let entry = complete(id) else { return nil }
        return (id, entry)
    }

    /// Removes and returns every request whose deadline is at or before `now`.
    public mutating func expire(now: UInt64) -> [(id: Int64, entry: Entry)] {
        let due = entries.filter { $0.value.deadline <= now }.map { (id: $0.key, entry: $0.value) }
        for item in due { _ = complete(item.id) }
        return due.sorted { $0.id < $1.id }
    }

    /// Removes and returns every request of a session (it ended).
    public mutating func removeSession(_ session: UInt64) -> [(id: Int64, entry: Entry)] {
        let mine = entries.filter { $0.value.session == session }.map { (id: $0.key, entry: $0.value) }
        for item in mine { _ = complete(item.id) }
        return mine.sorted { $0.id < $1.id }
    }

    /// The client sessions with requests in flight here.
    public func sessions() -> Set<UInt64> {
        Set(entries.values.lazy.map(\.session).filter { $0 != 0 })
    }

    /// Removes and returns everything (the backend went away).
    public mutating func removeAll() -> [(id: Int64, entry: Entry)] {
        let all = entries.map { (id: $0.key, entry: $0.value) }.sorted { $0.id < $1.id }
        entries.removeAll()
        byClient.removeAll()
        perSession.removeAll()
        return all
    }

    private mutating func removeClientKey(_ entry: Entry, _ id: Int64) {
        guard entry.session != 0 else { return }
        let key = ClientKey(session: entry.session, id: entry.clientID)
        if byClient[key] == id { byClient.removeValue(forKey: key) }
        if let n = perSession[entry.session], n > 1 { perSession[entry.session] = n - 1 } else { perSession[entry.session] = nil }
    }
}
