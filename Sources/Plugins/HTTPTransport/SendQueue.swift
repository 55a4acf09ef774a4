import Locking
import PluginAPI

/// Messages from the host waiting for the dispatcher, in order.
///
/// Bound: 4,096 messages or 64 MiB. Beyond it `enqueue` answers MCPH_E_AGAIN (nothing queued) and
/// the queue owes one WRITABLE, sent once the dispatcher has taken it down to half. An empty queue
/// always accepts (the bound limits what waits behind a message, not its size), so an E_AGAIN
/// always has messages behind it whose taking sends the WRITABLE. `enqueue` never blocks.
final class SendQueue: Sendable {
    static let maxMessages = 4096
    static let maxBytes = 64 << 20

    enum Enqueued { case queued, full, closed }

    private struct State {
        var items: [[UInt8]] = []
        var head = 0
        var bytes = 0
        var owesWritable = false
        var closed = false
        var waiter: CheckedContinuation<[UInt8]?, Never>?

        var count: Int { items.count - head }

        mutating func pop() -> [UInt8] {
            let item = items[head]
            items[head] = []
            head += 1
            if head > 1024, head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            bytes -= item.count
            return item
        }
    }
    private let state = Locked(State())
    private let onWritable: @Sendable () -> Void

    init(onWritable: @escaping @Sendable () -> Void) {
        self.onWritable = onWritable
    }

    func enqueue(_ message: UnsafeBufferPointer<UInt8>) -> Enqueued {
        let copy = Array(message)
        let result: (Enqueued, CheckedContinuation<[UInt8]?, Never>?) = state.withLock { s in
            if s.closed { return (.closed, nil) }
            if let waiter = s.waiter {
                s.waiter = nil
                return (.queued, waiter)
            }
            if s.count > 0, s.count >= Self.maxMessages || s.bytes > Self.maxBytes - copy.count {
                s.owesWritable = true
                return (.full, nil)
            }
            s.items.append(copy)
            s.bytes += copy.count
            return (.queued, nil)
        }
        result.1?.resume(returning: copy)
        return result.0
    }

    /// The next message, waiting for one; nil once the queue is closed.
    func next() async -> [UInt8]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8]?, Never>) in
            let (item, notify): ([UInt8]??, Bool) = state.withLock { s in
                if s.closed { return (.some(nil), false) }
                guard s.count > 0 else {
                    s.waiter = continuation
                    return (nil, false)
                }
                let item = s.pop()
                var notify = false
                if s.owesWritable, s.count <= Self.maxMessages / 2, s.bytes <= Self.maxBytes / 2 {
                    s.owesWritable = false
                    notify = true
                }
                return (.some(item), notify)
            }
            if notify { onWritable() }
            if let item { continuation.resume(returning: item) }
        }
    }

    /// Drops what is queued; `next` answers nil and `enqueue` MCPH_E_CLOSED from now on.
    func close() {
        let waiter: CheckedContinuation<[UInt8]?, Never>? = state.withLock { s in
            s.closed = true
            s.items = []
            s.head = 0
            s.bytes = 0
            let w = s.waiter
            s.waiter = nil
            return w
        }
        waiter?.resume(returning: nil)
    }
}
