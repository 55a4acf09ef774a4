import Testing
@testable import Host

/// The catalog without processes: staleness across a fetch, and name collisions.
struct CatalogTests {
    func items(_ names: [String]) -> Catalog.Items {
        Catalog.Items(elements: names.map { Array("{\"name\":\"\($0)\"}".utf8) },
                      names: Dictionary(uniqueKeysWithValues: names.map { ($0, $0) }), exposed: names)
    }

    // Defect 8: a list_changed that arrives while the list is being fetched is not lost.
    @Test func listChangedDuringAFetchKeepsTheListStale() {
        let catalog = Catalog()
        let before = catalog.generation(.tool, of: "a")
        catalog.invalidate(.tool, backend: "a")          // list_changed while the fetch runs
        catalog.store(.tool, backend: "a", items: items(["a__x"]), order: ["a"], generation: before)
        #expect(catalog.items(.tool, of: "a") == nil, "the list must be fetched again")
        #expect(catalog.lastKnownItems(.tool, of: "a") != nil, "but what was fetched is served meanwhile")
        #expect(catalog.lookup(.tool, exposed: "a__x")?.backend == "a")

        let again = catalog.generation(.tool, of: "a")
        catalog.store(.tool, backend: "a", items: items(["a__x", "a__y"]), order: ["a"], generation: again)
        #expect(catalog.items(.tool, of: "a")?.elements.count == 2)
    }

    // Defect 7: a colliding name is owned by the first backend in order, listed once.
    @Test func collidingNamesBelongToTheFirstBackendInOrder() {
        let catalog = Catalog()
        let order = ["a", "b"]
        // b lists first: it holds the name until a (first in order) is known.
        #expect(catalog.store(.resource, backend: "b", items: items(["u://same", "u://b"]), order: order).isEmpty)
        #expect(catalog.lookup(.resource, exposed: "u://same")?.backend == "b")
        // a (first in order) arrives: b's item is newly hidden, and that is reported although b was not stored.
        #expect(catalog.store(.resource, backend: "a", items: items(["u://same"]), order: order) == [Catalog.Hidden(backend: "b", name: "u://same")])
        #expect(catalog.lookup(.resource, exposed: "u://same")?.backend == "a")
        let visibleB = catalog.visibleElements(.resource, of: "b", catalog.items(.resource, of: "b")!)
        #expect(visibleB.map { String(decoding: $0, as: UTF8.self) } == [#"{"name":"u://b"}"#])
        #expect(catalog.visibleElements(.resource, of: "a", catalog.items(.resource, of: "a")!).count == 1)
        #expect(catalog.store(.resource, backend: "b", items: items(["u://same"]), order: order).isEmpty, "already reported")
    }
}

/// The table of requests being routed: cancel and hand-off never lose a cancel.
struct RoutingTableTests {
    @Test func cancelWhileRoutingIsSeenAtHandOff() throws {
        let table = RoutingTable()
        let ticket = try #require(table.begin(session: 1, clientID: Array("7".utf8), deadline: 0))
        #expect(table.begin(session: 1, clientID: Array("7".utf8), deadline: 0) == nil, "a duplicate id is refused")
        #expect(table.begin(session: 2, clientID: Array("7".utf8), deadline: 0) != nil, "another session's id 7 is another request")
        #expect(table.cancel(session: 1, clientID: Array("7".utf8)))
        #expect(table.finish(ticket), "the forwarder learns of the cancel")
        #expect(!table.cancel(session: 1, clientID: Array("7".utf8)), "after hand-off the backend's table has it")
        #expect(table.count == 1)
    }

    @Test func sessionEndCancelsItsRoutedRequests() throws {
        let table = RoutingTable()
        let mine = try #require(table.begin(session: 1, clientID: Array("1".utf8), deadline: 0))
        let other = try #require(table.begin(session: 2, clientID: Array("1".utf8), deadline: 0))
        table.cancelSession(1)
        #expect(table.finish(mine))
        #expect(!table.finish(other))
        #expect(table.count == 0)
    }
}

/// The per-session counts behind the per-client cap.
struct PendingTableCapTests {
    @Test func perSessionCountsFollowEveryRemoval() {
        var table = PendingTable<Int>()
        func entry(_ session: UInt64, _ id: String) -> PendingTable<Int>.Entry {
            .init(waiter: 0, session: session, clientID: Array(id.utf8), progressToken: nil, deadline: 10, method: "tools/call")
        }
        let a = table.register(entry(1, "1"))
        _ = table.register(entry(1, "2"))
        _ = table.register(entry(2, "1"))
        #expect(table.count(session: 1) == 2)
        _ = table.complete(a)
        #expect(table.count(session: 1) == 1)
        _ = table.cancel(session: 1, clientID: Array("2".utf8))
        #expect(table.count(session: 1) == 0)
        _ = table.expire(now: 100)
        #expect(table.count(session: 2) == 0)
        #expect(table.count == 0)
    }
}
