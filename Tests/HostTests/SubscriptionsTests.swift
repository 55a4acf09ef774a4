import Locking
import Testing
@testable import Host

/// The backend's subscription per URI, kept in step with its subscribers without a process.
struct SubscriptionsTests {
    /// A backend whose operations are logged and can be held until the test releases them.
    final class FakeBackend: Sendable {
        let log = Locked<[String]>([])
        let gates = Locked<[String: OneShot<Void>]>([:])
        let answers = Locked<[Subscriptions.Outcome]>([])

        /// Holds the next operations named `name` until `release(name)`.
        func hold(_ name: String) { gates.withLock { $0[name] = OneShot<Void>() } }
        func release(_ name: String) { gates.withLock { $0.removeValue(forKey: name) }?.resolve(()) }
        /// Answers the next subscribes with these outcomes (then: subscribed).
        func answer(_ outcomes: [Subscriptions.Outcome]) { answers.withLock { $0 = outcomes } }

        var events: [String] { log.withLock { $0 } }

        var operations: Subscriptions.Operations {
            .init(
                subscribe: { uri in
                    self.log.withLock { $0.append("subscribe \(uri)") }
                    if let gate = self.gates.withLock({ $0["subscribe"] }) { await gate.value() }
                    return self.answers.withLock { $0.isEmpty ? .subscribed(result: Array("{}".utf8)) : $0.removeFirst() }
                },
                unsubscribe: { uri in
                    self.log.withLock { $0.append("unsubscribe \(uri)") }
                    if let gate = self.gates.withLock({ $0["unsubscribe"] }) { await gate.value() }
                },
                resubscribeFailed: { uri, _ in self.log.withLock { $0.append("resubscribe failed \(uri)") } })
        }
    }

    /// Waits until the subscriptions are idle (no worker) or a second passed.
    func settle(_ subscriptions: Subscriptions, entries: Int) async {
        for _ in 0..<200 where subscriptions.entryCount != entries { try? await Task.sleep(for: .milliseconds(5)) }
    }

    @Test func anUnsubscribeNeverOvertakesTheNextSubscribe() async throws {
        let backend = FakeBackend(), subscriptions = Subscriptions()
        backend.hold("subscribe")
        let one = try #require(subscriptions.join("u", session: 1, backend.operations))
        // Client 1 leaves while the subscribe is pending; client 2 joins.
        subscriptions.leave("u", session: 1, backend.operations)
        let two = try #require(subscriptions.join("u", session: 2, backend.operations))
        backend.hold("unsubscribe")
        backend.release("subscribe")
        #expect(!(await one.value().isSubscribed), "client 1 left: its subscribe is answered as failed")
        #expect(await two.value().isSubscribed)
        // Client 2 joined before the subscribe was answered: that subscribe serves it, nothing else runs.
        #expect(backend.events == ["subscribe u"])
        // Now client 2 leaves and client 3 joins while the unsubscribe is held: the subscribe waits for it.
        subscriptions.leave("u", session: 2, backend.operations)
        try await Task.sleep(for: .milliseconds(20))
        let three = try #require(subscriptions.join("u", session: 3, backend.operations))
        try await Task.sleep(for: .milliseconds(20))
        #expect(backend.events == ["subscribe u", "unsubscribe u"], "the subscribe overtook the unsubscribe")
        backend.release("unsubscribe")
        #expect(await three.value().isSubscribed)
        #expect(backend.events == ["subscribe u", "unsubscribe u", "subscribe u"])
        #expect(subscriptions.subscribers(of: "u") == [3])
    }

    @Test func aRefusalReachesEveryWaiterAndRecordsNobody() async throws {
        let backend = FakeBackend(), subscriptions = Subscriptions()
        backend.hold("subscribe")
        backend.answer([.refused(error: Array(#"{"code":-32602,"message":"no"}"#.utf8))])
        let one = try #require(subscriptions.join("u", session: 1, backend.operations))
        let two = try #require(subscriptions.join("u", session: 2, backend.operations))
        backend.release("subscribe")
        for outcome in [one, two] { #expect(!(await outcome.value().isSubscribed)) }
        await settle(subscriptions, entries: 0)
        #expect(subscriptions.count == 0)
        #expect(subscriptions.entryCount == 0)
        #expect(backend.events == ["subscribe u"], "one subscribe for both")
        // A later subscriber tries again rather than inheriting the old refusal.
        let three = try #require(subscriptions.join("u", session: 3, backend.operations))
        #expect(await three.value().isSubscribed)
    }

    @Test func theLastSubscriberLeavingUnsubscribesOnceAndNothingIsLeft() async throws {
        let backend = FakeBackend(), subscriptions = Subscriptions()
        let one = try #require(subscriptions.join("u", session: 1, backend.operations))
        #expect(await one.value().isSubscribed)
        #expect(subscriptions.join("u", session: 2, backend.operations) == nil, "already held: answered at once")
        subscriptions.leave("u", session: 1, backend.operations)
        subscriptions.leave("u", session: 2, backend.operations)
        await settle(subscriptions, entries: 0)
        #expect(backend.events == ["subscribe u", "unsubscribe u"])
        #expect(subscriptions.entryCount == 0)
    }

    @Test func aFailedResubscribeIsReportedAndALeaveStillCleansUp() async throws {
        let backend = FakeBackend(), subscriptions = Subscriptions()
        let one = try #require(subscriptions.join("u", session: 1, backend.operations))
        #expect(await one.value().isSubscribed)
        backend.answer([.failed(.exited(backend: "b", detail: "exited"))])
        subscriptions.restarted(backend.operations)
        for _ in 0..<200 where !backend.events.contains("resubscribe failed u") { try await Task.sleep(for: .milliseconds(5)) }
        #expect(backend.events == ["subscribe u", "subscribe u", "resubscribe failed u"])
        #expect(subscriptions.subscribers(of: "u") == [1], "the subscriber is still recorded (it asked and was answered)")
        // Whether the failed subscribe took effect is unknown: the last leave unsubscribes to be sure.
        subscriptions.leave("u", session: 1, backend.operations)
        await settle(subscriptions, entries: 0)
        #expect(backend.events.last == "unsubscribe u")
        #expect(subscriptions.entryCount == 0)
    }

    @Test func aClientFlippingQueuesNoWork() async throws {
        let backend = FakeBackend(), subscriptions = Subscriptions()
        backend.hold("subscribe")
        for _ in 0..<100 {
            _ = subscriptions.join("u", session: 1, backend.operations)
            subscriptions.leave("u", session: 1, backend.operations)
        }
        let last = try #require(subscriptions.join("u", session: 1, backend.operations))
        backend.release("subscribe")
        #expect(await last.value().isSubscribed)
        await settle(subscriptions, entries: 1)
        #expect(backend.events == ["subscribe u"], "\(backend.events)")
        #expect(subscriptions.subscribers(of: "u") == [1])
    }
}
