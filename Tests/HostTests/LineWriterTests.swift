#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LineIO
import Synchronization
import Testing

/// LineWriter: direct writes on the caller's thread when idle, batches on the writer thread when
/// busy, one order, its bounds and its end, through a real pipe.
@Suite struct LineWriterTests {
    /// A pipe whose read end is drained into lines on a thread.
    final class Pipe: @unchecked Sendable {
        let read: Int32, write: Int32
        init(nonBlocking: Bool = false) {
            var fds: [Int32] = [0, 0]
            precondition(pipe(&fds) == 0)
            (read, write) = (fds[0], fds[1])
            if nonBlocking { _ = fcntl(write, F_SETFL, fcntl(write, F_GETFL) | O_NONBLOCK) }
        }
        /// Reads every line until EOF on a thread of its own (blocking reads never on the task pool).
        func drain() -> Drained {
            let drained = Drained()
            drained.thread = DedicatedThread.start { drained.lines = self.readAll() }
            return drained
        }
        /// Every line until EOF.
        func readAll() -> [String] {
            var data = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(read, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                data += chunk[0..<n]
            }
            Glibc.close(read)
            return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    final class Drained: @unchecked Sendable {
        var thread: pthread_t?
        var lines: [String] = []
        /// Waits for EOF; only after the writer finished (or failed).
        func value() -> [String] {
            if let thread { pthread_join(thread, nil) }
            thread = nil
            return lines
        }
    }

    /// Blocking (direct writes after a poll) and non-blocking descriptors (direct writes that may
    /// be partial; the writer thread polls when the pipe is full).
    @Test(arguments: [false, true])
    func everyMessageArrivesOnceInEachSendersOrder(nonBlocking: Bool) async throws {
        let pipe = Pipe(nonBlocking: nonBlocking)
        let writer = LineWriter(fd: pipe.write, messageLimit: 1 << 20, byteLimit: 1 << 30)
        writer.start()
        let reader = pipe.drain()
        let senders = 4, perSender = 5000
        await withTaskGroup(of: Void.self) { group in
            for s in 0..<senders {
                group.addTask {
                    for i in 0..<perSender {
                        // Mixed sizes: most go direct when idle; every 100th is larger than PIPE_BUF.
                        let pad = i % 100 == 0 ? String(repeating: "x", count: 10_000) : ""
                        #expect(writer.enqueue(Array("\(s) \(i) \(pad)".utf8)) == .queued)
                    }
                }
            }
        }
        writer.finish()
        writer.join()
        let lines = reader.value()
        #expect(lines.count == senders * perSender)
        var next = [Int](repeating: 0, count: senders)
        for line in lines {
            let parts = line.split(separator: " ")
            let s = try #require(Int(parts[0])), i = try #require(Int(parts[1]))
            #expect(i == next[s], "sender \(s): expected \(next[s]), got \(i)")
            next[s] = i + 1
        }
        #expect(next == [Int](repeating: perSender, count: senders))
    }

    @Test func lineBreaksInsideAMessageBecomeSpaces() async {
        let pipe = Pipe()
        let writer = LineWriter(fd: pipe.write)
        writer.start()
        let reader = pipe.drain()
        _ = writer.enqueue(Array("{\"a\":\n1,\r\n\"b\":2}".utf8))
        _ = writer.enqueue(Array(("{\"big\":\n\"" + String(repeating: "y", count: 9000) + "\"}").utf8))
        writer.finish()
        writer.join()
        let lines = reader.value()
        #expect(lines.count == 2)
        #expect(lines.first == "{\"a\": 1,  \"b\":2}")
        #expect(lines.last?.hasPrefix("{\"big\": \"yyy") == true)
    }

    @Test(arguments: [false, true])
    func aFullQueueRefusesThenReportsWritableOnceDrained(nonBlocking: Bool) async throws {
        let pipe = Pipe(nonBlocking: nonBlocking)
        let writable = Atomic<Int>(0)
        let writer = LineWriter(fd: pipe.write, messageLimit: 8, byteLimit: 1 << 30, onWritable: { writable.add(1, ordering: .relaxed) })
        writer.start()
        // Nobody reads: fill the pipe (64 KiB) and the queue until a refusal.
        let message = Array(String(repeating: "z", count: 3000).utf8)
        var refused = false
        for _ in 0..<200 where !refused {
            refused = writer.enqueue(message) == .full
        }
        #expect(refused)
        #expect(writable.load(ordering: .relaxed) == 0)
        let reader = pipe.drain()
        let deadline = Date().addingTimeInterval(10)
        while writable.load(ordering: .relaxed) == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(writable.load(ordering: .relaxed) == 1)
        #expect(writer.enqueue(Array("last".utf8)) == .queued)
        writer.finish()
        writer.join()
        let lines = reader.value()
        #expect(lines.last == "last")
        #expect(lines.dropLast().allSatisfy { $0.count == 3000 })
    }

    @Test func aGoneReaderBreaksTheWriterOnce() async throws {
        let pipe = Pipe()
        let broken = Atomic<Int>(0)
        signal(SIGPIPE, SIG_IGN)
        let writer = LineWriter(fd: pipe.write, onBroken: { broken.add(1, ordering: .relaxed) })
        writer.start()
        close(pipe.read)
        let deadline = Date().addingTimeInterval(10)
        while broken.load(ordering: .relaxed) == 0 && Date() < deadline {
            _ = writer.enqueue(Array("hello".utf8))
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(broken.load(ordering: .relaxed) == 1)
        #expect(writer.enqueue(Array("after".utf8)) == .closed)
        writer.join()
        #expect(broken.load(ordering: .relaxed) == 1)
    }

    @Test func finishFlushesEverythingThenCloses() async {
        let pipe = Pipe()
        let writer = LineWriter(fd: pipe.write, messageLimit: 100_000, byteLimit: 1 << 30)
        writer.start()
        for i in 0..<20_000 { _ = writer.enqueue(Array("line \(i)".utf8)) }
        writer.finish()
        #expect(writer.enqueue(Array("too late".utf8)) == .closed)
        let lines = pipe.readAll() // ends only when the writer closed the fd
        writer.join()
        #expect(lines.count == 20_000)
        #expect(lines.last == "line 19999")
    }
}

