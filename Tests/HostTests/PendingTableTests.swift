import Testing
@testable import Host

@Suite struct PendingTableTests {
    typealias Table = PendingTable<String>

    func entry(_ waiter: String, session: UInt64, id: String, token: String? = nil, deadline: UInt64 = 1_000) -> Table.Entry {
        .init(waiter: waiter, session: session, clientID: Array(id.utf8), progressToken: token.map { Array($0.utf8) },
              deadline: deadline, method: "tools/call")
    }

    @Test func backendIDsAreUniqueAndMapBackToTheExactClientID() {
        var table = Table()
        let a = table.register(entry("a", session: 1, id: "1"))
        let b = table.register(entry("b", session: 2, id: "1"))
        let c = table.register(entry("c", session: 1, id: #""1""#))
        #expect(Set([a, b, c]).count == 3)
        #expect(table.complete(c)?.clientID == Array(#""1""#.utf8))
        #expect(table.complete(c) == nil, "a late duplicate response is dropped")
        #expect(table.complete(a)?.waiter == "a")
        #expect(table.count == 1)
    }

    @Test func cancelDistinguishesSevenFromQuotedSeven() {
        var table = Table()
        let numeric = table.register(entry("n", session: 1, id: "7"))
        let string = table.register(entry("s", session: 1, id: #""7""#))
        let cancelled = table.cancel(session: 1, clientID: Array(#""7""#.utf8))
        #expect(cancelled?.id == string)
        #expect(table.cancel(session: 2, clientID: Array("7".utf8)) == nil, "another session's id 7 is not ours")
        #expect(table.complete(numeric)?.waiter == "n")
    }

    @Test func progressTokensResolveToTheirRequestWithoutRemovingIt() {
        var table = Table()
        let id = table.register(entry("p", session: 1, id: "9", token: #""tok""#))
        let plain = table.register(entry("q", session: 1, id: "10"))
        #expect(table.progressTarget(id)?.progressToken == Array(#""tok""#.utf8))
        #expect(table.progressTarget(plain) == nil, "no token was asked for")
        #expect(table.count == 2)
    }

    @Test func expiryAndSessionEndRemoveOnlyWhatTheyShould() {
        var table = Table()
        let early = table.register(entry("early", session: 1, id: "1", deadline: 100))
        let late = table.register(entry("late", session: 1, id: "2", deadline: 500))
        let other = table.register(entry("other", session: 2, id: "1", deadline: 500))
        #expect(table.expire(now: 99).isEmpty)
        #expect(table.expire(now: 100).map(\.id) == [early])
        #expect(table.removeSession(1).map(\.id) == [late])
        #expect(table.cancel(session: 1, clientID: Array("2".utf8)) == nil)
        #expect(table.removeAll().map(\.id) == [other])
        #expect(table.count == 0)
    }
}
