#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock (`flock`) on a file, created 0600 when missing. The kernel releases it when
/// the descriptor is closed, also when the process dies however it dies, so a crashed host or
/// bridge never leaves a lock behind. The descriptor is close-on-exec: a spawned host does not
/// inherit its bridge's lock.
struct FileLock: Sendable {
    let path: String
    let fd: Int32

    /// Opens (creating) the lock file; nothing is locked yet.
    static func open(_ path: String) throws(SharedHostError) -> FileLock {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SharedHostError("cannot open \(path): \(String(cString: strerror(errno)))") }
        return FileLock(path: path, fd: fd)
    }

    /// Takes the lock if nobody holds it in a conflicting mode; never waits.
    func tryLock(exclusive: Bool) -> Bool {
        while true {
            if flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 { return true }
            if errno != EINTR { return false }
        }
    }

    /// Takes the lock, waiting at most `timeout` seconds (polling every 10 ms: flock has no timeout).
    func lock(exclusive: Bool, timeout: Double) -> Bool {
        let deadline = MonotonicClock.deadline(after: timeout, from: MonotonicClock.nanoseconds())
        while true {
            if tryLock(exclusive: exclusive) { return true }
            if MonotonicClock.nanoseconds() >= deadline { return false }
            usleep(10_000)
        }
    }

    func unlock() { _ = flock(fd, LOCK_UN) }

    /// Releases the lock and closes the file.
    func close() { _ = Glibc.close(fd) }
}
