import Testing
@testable import Host

/// The host-side outbox of a backend connection (pure state; `BackendConnection` drives it).
@Suite struct OutboxTests {
    static func item(_ n: Int, control: Bool = false) -> Outbox.Item {
        Outbox.Item(bytes: Array("m\(n)".utf8), control: control)
    }

    @Test func messagesWaitForTheOpenThenDrainInOrder() {
        var outbox = Outbox()
        outbox.append(Self.item(1))
        outbox.append(Self.item(2))
        var started = outbox.startDrainIfIdle()
        #expect(!started, "no drain before open returned")
        outbox.opening = false
        started = outbox.startDrainIfIdle()
        #expect(started)
        started = outbox.startDrainIfIdle()
        #expect(!started, "one drainer at a time")
        #expect(outbox.first?.bytes == Array("m1".utf8))
        outbox.removeFirst()
        #expect(outbox.first?.bytes == Array("m2".utf8))
        outbox.removeFirst()
        #expect(outbox.count == 0 && outbox.first == nil)
    }

    @Test func aRefusingPluginHoldsTheDrainUntilWritable() {
        var outbox = Outbox()
        outbox.opening = false
        outbox.append(Self.item(1))
        outbox.blocked = true
        var started = outbox.startDrainIfIdle()
        #expect(!started, "blocked: wait for WRITABLE")
        outbox.blocked = false
        started = outbox.startDrainIfIdle()
        #expect(started)
    }

    @Test func aPendingCloseStartsADrainWithNothingQueued() {
        var outbox = Outbox()
        outbox.opening = false
        var started = outbox.startDrainIfIdle()
        #expect(!started)
        outbox.pendingClose = 0
        started = outbox.startDrainIfIdle()
        #expect(started)
    }

    @Test func discardingEmptiesAndStopsEverything() {
        var outbox = Outbox()
        outbox.opening = false
        outbox.append(Self.item(1, control: true))
        outbox.pendingClose = 5
        outbox.discardAll()
        #expect(outbox.discarded && outbox.count == 0 && outbox.pendingClose == nil)
        let started = outbox.startDrainIfIdle()
        #expect(!started)
    }

    @Test func longQueuesKeepTheirOrderAcrossCompaction() {
        var outbox = Outbox()
        for n in 0..<5000 { outbox.append(Self.item(n)) }
        var seen: [Int] = []
        for round in 0..<3 {
            for _ in 0..<1500 {
                guard let first = outbox.first else { break }
                seen.append(Int(String(decoding: first.bytes.dropFirst(), as: UTF8.self))!)
                outbox.removeFirst()
            }
            outbox.append(Self.item(5000 + round))
        }
        while let first = outbox.first {
            seen.append(Int(String(decoding: first.bytes.dropFirst(), as: UTF8.self))!)
            outbox.removeFirst()
        }
        #expect(seen == Array(0..<5003))
    }
}
