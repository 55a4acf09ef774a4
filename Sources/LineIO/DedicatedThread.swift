#if canImport(Glibc)
import Glibc
#endif

/// A pthread running a closure: for blocking I/O that must stay off Swift's concurrency pool.
public enum DedicatedThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread. Join the result with `pthread_join`, unless `detached`.
    @discardableResult
    public static func start(detached: Bool = false, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        if detached { pthread_detach(thread) }
        return thread
    }
}
