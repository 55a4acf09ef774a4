#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a pthread mutex.
///
/// Used instead of `Synchronization.Mutex` everywhere in the host and the bundled plugins because
/// on Linux `Mutex` is a raw futex that ThreadSanitizer does not model: two threads taking the same
/// `Mutex` are reported as a data race. TSan intercepts `pthread_mutex_lock`, so its verdict on
/// code guarded by `Locked` is real. Uncontended, both cost about the same (one atomic each way).
///
/// Rules: never hold it across I/O, an `await` or a call into a plugin; never re-enter it from the
/// closure (the mutex is not recursive: that deadlocks).
public final class Locked<Value>: @unchecked Sendable {
    // Safe to share: `value` is only touched inside `withLock`, with `mutex` held.
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
