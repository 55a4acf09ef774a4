import Locking
import Testing
@testable import Host

/// The backend's subscription per URI, kept in step with its subscribers without a process.
struct SubscriptionsTests {
    /// A backend operation that waits until the test opens its gate, and logs when it runs.
    final class Gate: Sendable {
        private let opened = OneShot<Void>()
        func open() { opened.resolve(()) }
        func pass() async { await opened.value() }
    }

    let log = Locked<[String]>([])

    func record(_ event: String) { log.withLock { $0.append(event) } }

    @Test func anUnsubscribeNeverOvertakesTheNextSubscribe() async {
        let subscriptions = Subscriptions()
        let slowSubscribe = Gate(), slowUnsubscribe = Gate()
        // Client 1 subscribes; the backend is slow to confirm.
        let (first, one) = subscriptions.join("u", session: 1) {
            self.record("subscribe 1"); await slowSubscribe.pass(); return .subscribed(result: Array("{}".utf8))
        }
        #expect(first)
        // Client 1 leaves before the confirmation: the unsubscribe waits for the subscribe.
        subscriptions.leave("u", session: 1) { self.record("unsubscribe"); await slowUnsubscribe.pass() }
        // Client 2 joins: its subscribe waits for the unsubscribe.
        let (second, two) = subscriptions.join("u", session: 2) {
            self.record("subscribe 2"); return .subscribed(result: Array("{}".utf8))
        }
        #expect(second, "the URI had no subscriber left, so the backend is subscribed again")
        slowSubscribe.open()
        _ = await one.value
        try? await Task.sleep(for: .milliseconds(50))
        #expect(log.withLock { $0 } == ["subscribe 1", "unsubscribe"], "subscribe 2 ran before the unsubscribe ended")
        slowUnsubscribe.open()
        #expect(await two.value.isSubscribed)
        #expect(log.withLock { $0 } == ["subscribe 1", "unsubscribe", "subscribe 2"])
        #expect(subscriptions.subscribers(of: "u") == [2])
    }

    @Test func aRefusalReachesEverySubscriberThatJoinedIt() async {
        let subscriptions = Subscriptions()
        let gate = Gate()
        let (_, one) = subscriptions.join("u", session: 1) {
            await gate.pass(); return .refused(error: Array(#"{"code":-32602,"message":"no"}"#.utf8))
        }
        let (second, two) = subscriptions.join("u", session: 2) { Issue.record("a second subscribe was sent"); return .unsubscribed }
        #expect(!second)
        gate.open()
        for (session, outcome) in [(UInt64(1), one), (2, two)] {
            #expect(!(await outcome.value.isSubscribed))
            subscriptions.remove("u", session: session, joined: outcome)
        }
        #expect(subscriptions.count == 0)
        #expect(subscriptions.uris.isEmpty)
    }

    @Test func theLastSubscriberLeavingUnsubscribesOnce() async {
        let subscriptions = Subscriptions()
        let (_, one) = subscriptions.join("u", session: 1) { .subscribed(result: []) }
        _ = subscriptions.join("u", session: 2) { Issue.record("subscribed twice"); return .unsubscribed }
        _ = await one.value
        let unsubscribed = OneShot<Void>()
        subscriptions.leave("u", session: 1) { Issue.record("unsubscribed while a subscriber remains") }
        subscriptions.leave("u", session: 2) { unsubscribed.resolve(()) }
        await unsubscribed.value()
        #expect(subscriptions.count == 0)
    }
}
