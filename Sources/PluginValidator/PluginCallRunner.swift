#if canImport(Glibc)
import Glibc
#endif
import Host
import Locking

/// A value handed to the runner's thread and back unchanged.
///
/// `@unchecked Sendable`: used for pointers into the plugin (its state, a connection, a table).
/// The caller hands them to the runner and waits for the call to finish; only one thread uses
/// them at a time, except after a watchdog timeout, when the caller stops using that plugin
/// object altogether (it is wedged).
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A call into the plugin that did not return within its watchdog limit.
struct Blocked: Error, Sendable {
    let function: String
    let limitMs: Int

    var description: String { "\(function) did not return within \(limitMs) ms: it blocks" }
}

/// What a call returned, and how long the call itself took (measured on the thread that made it).
struct Timed<Value: Sendable>: Sendable {
    let value: Value
    /// Wall-clock time of the call.
    let nanoseconds: UInt64
    /// Part of it the thread spent runnable but waiting for a CPU (the machine's doing, not the
    /// plugin's: a loaded machine must not turn a fast call into a "blocking" one). 0 when the
    /// kernel does not say (no /proc/thread-self/schedstat).
    var waitingForCPU: UInt64 = 0

    var milliseconds: Double { Double(nanoseconds) / 1e6 }

    /// The call's own time: running or blocked in the plugin, without the wait for a CPU. The
    /// limits ("send under 50 ms") apply to this.
    var ownMilliseconds: Double { Double(MonotonicClock.elapsed(from: waitingForCPU, to: nanoseconds)) / 1e6 }
}

/// The calling thread's scheduler statistics (`/proc/thread-self/schedstat`: time on a CPU and
/// time waiting on a run queue, in ns), or nil when the kernel does not provide them.
enum ThreadSchedStat {
    static func waitingForCPU() -> UInt64? {
        let fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 96)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let fields = buffer[0..<n].split(separator: UInt8(ascii: " "))
        guard fields.count >= 2 else { return nil }
        return UInt64(String(decoding: fields[1], as: UTF8.self))
    }
}

/// Runs calls into a plugin on a worker thread, under a watchdog: the caller waits at most the
/// call's limit, so a plugin that blocks in `send` or `route` is a failure naming the function,
/// never a hang of the validator.
///
/// A call that overruns its limit leaves its worker thread stuck inside the plugin; the worker is
/// abandoned (it stays blocked until the process exits) and the next call starts a new one. The
/// caller is told, and stops using the plugin object that blocked.
///
/// One call at a time: `call` is used from the validator's own thread only.
final class PluginCallRunner: Sendable {
    private let worker = Locked<Worker?>(nil)

    /// Runs `body` on the worker thread; nil result: it did not return within `limit` seconds.
    func call<Value: Sendable>(_ function: String, limit seconds: Double,
                               _ body: @escaping @Sendable () -> Value) -> Result<Timed<Value>, Blocked> {
        let slot = Locked<Timed<Value>?>(nil)
        let job = Job {
            let queuedBefore = ThreadSchedStat.waitingForCPU()
            let start = MonotonicClock.nanoseconds()
            let value = body()
            let took = MonotonicClock.elapsed(from: start, to: MonotonicClock.nanoseconds())
            let queuedAfter = ThreadSchedStat.waitingForCPU()
            var timed = Timed(value: value, nanoseconds: took)
            if let queuedBefore, let queuedAfter { timed.waitingForCPU = min(took, MonotonicClock.elapsed(from: queuedBefore, to: queuedAfter)) }
            slot.withLock { $0 = timed }
        }
        let current = worker.withLock { current -> Worker in
            if let current { return current }
            let started = Worker()
            current = started
            return started
        }
        current.submit(job)
        guard job.wait(seconds: seconds), let result = slot.withLock({ $0 }) else {
            // Abandon the stuck worker (and the job's semaphore, which it may still post).
            worker.withLock { if $0 === current { $0 = nil } }
            return .failure(Blocked(function: function, limitMs: Int(min(max(0, seconds * 1000), 1e9))))
        }
        job.free()
        return .success(result)
    }
}

/// A POSIX semaphore on the heap (never moved; `sem_t` must not be copied).
private final class Semaphore: @unchecked Sendable { // sem_* are thread-safe by definition
    let pointer: UnsafeMutablePointer<sem_t>

    init() {
        pointer = .allocate(capacity: 1)
        sem_init(pointer, 0, 0)
    }

    func post() { sem_post(pointer) }

    func wait() {
        while sem_wait(pointer) != 0 && errno == EINTR {}
    }

    /// Waits at most `seconds`; false on timeout.
    func wait(seconds: Double) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let whole = Int(min(max(0, seconds), 1e6))
        let fraction = Int(min(max(0, (seconds - Double(whole)) * 1e9), 999_999_999))
        deadline.tv_sec += whole
        deadline.tv_nsec += fraction
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        while true {
            if sem_timedwait(pointer, &deadline) == 0 { return true }
            if errno != EINTR { return false }
        }
    }

    /// Frees the semaphore; only once nobody can post it any more.
    func destroy() {
        sem_destroy(pointer)
        pointer.deallocate()
    }
}

private final class Job: Sendable {
    let body: @Sendable () -> Void
    let done = Semaphore()

    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func run() {
        body()
        done.post()
    }

    func wait(seconds: Double) -> Bool { done.wait(seconds: seconds) }

    /// After a completed wait: nothing posts `done` any more. (A job that timed out keeps its
    /// semaphore: the stuck worker may still post it.)
    func free() { done.destroy() }
}

/// One thread taking jobs in order. Never joined: it ends with the process.
private final class Worker: Sendable {
    private let ready = Semaphore()
    private let jobs = Locked<[Job]>([])

    init() {
        startDetachedThread { [self] in loop() }
    }

    func submit(_ job: Job) {
        jobs.withLock { $0.append(job) }
        ready.post()
    }

    private func loop() {
        while true {
            ready.wait()
            guard let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            job.run()
        }
    }
}

/// Starts `body` on a detached pthread of its own (never Swift's concurrency pool, which a Swift
/// plugin may need while the validator waits).
func startDetachedThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let status = pthread_create(&thread, nil, { raw in
        Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, box)
    precondition(status == 0, "pthread_create failed: \(status)")
    pthread_detach(thread)
}
