#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Locking
import Logging

/// Reloads the configuration into a running core: on SIGHUP (`reload(trigger:)`) and when the
/// servers file or a drop-in file changes (`watch()`, inotify on their directories).
///
/// A new configuration is refused, and the running one stays, when the servers file cannot be read
/// or is not valid JSON, or when it brings a problem the running one does not have (a server entry
/// with an error, a drop-in that cannot be read): the error says what and where. Reloads run one
/// at a time; a change that arrives during one runs once more after it.
public final class ConfigReloader: Sendable {
    public enum Outcome: Sendable, Equatable {
        case applied(HostCore.ReloadReport)
        case refused(String)
    }

    let core: HostCore
    let file: String
    let directory: String?
    let loader: ConfigLoader
    let logger: Logger

    private struct State {
        var running = false
        var again = false
        var watcher: FileWatcher?
        /// `stop` was called: the host is shutting down, no reload starts any more.
        var stopped = false
    }
    private let state = Locked(State())

    public init(core: HostCore, file: String, directory: String?, loader: ConfigLoader, logger: Logger) {
        self.core = core
        self.file = file
        self.directory = directory
        self.loader = loader
        self.logger = logger
    }

    /// Reads the configuration again and applies it, unless it is refused. Waits until the reload
    /// is applied (not until retired backends are gone). A call during a reload makes that reload
    /// run once more and returns nil at once.
    @discardableResult
    public func reload(trigger: String) -> Outcome? {
        let first = state.withLock { state -> Bool in
            if state.stopped { return false }
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        guard first else { return nil }
        var outcome: Outcome
        var reason = trigger
        while true {
            outcome = reloadOnce(trigger: reason)
            let again = state.withLock { state -> Bool in
                if state.again {
                    state.again = false
                    return true
                }
                state.running = false
                return false
            }
            guard again else { break }
            reason = "a further change"
        }
        return outcome
    }

    private func reloadOnce(trigger: String) -> Outcome {
        logger.info("reloading the configuration (\(trigger))", metadata: ["file": "\(file)"])
        let config: HostConfig
        do {
            config = try loader.load(file: file, directory: directory)
        } catch {
            let message = "configuration reload refused, the running configuration stays: \(error)"
            logger.error("\(message)")
            return .refused(message)
        }
        let known = Set(core.configProblems.map(\.description))
        let new = config.problems.filter { !known.contains($0.description) }
        guard new.isEmpty else {
            let message = "configuration reload refused, the running configuration stays: "
                + new.map(\.description).joined(separator: "; ")
            logger.error("\(message)")
            return .refused(message)
        }
        let (report, _) = core.reload(config)
        return .applied(report)
    }

    /// Watches the servers file's directory and the drop-in directory; a change to the servers file
    /// or to a `*.json` drop-in reloads (after 250 ms of quiet, so an editor's several writes make
    /// one reload). Returns false (logged) when inotify is not available.
    @discardableResult
    public func watch() -> Bool {
        let name = (file as NSString).lastPathComponent
        var targets = [FileWatcher.Target(directory: HostPaths.parent(of: file), accepts: { $0 == name })]
        if let directory { targets.append(.init(directory: directory, accepts: { $0.hasSuffix(".json") })) }
        guard let watcher = FileWatcher(targets: targets, quiet: 0.25, logger: logger, onChange: { [weak self] in
            self?.reload(trigger: "a file changed")
        }) else { return false }
        state.withLock { $0.watcher = watcher }
        return true
    }

    /// Stops watching and refuses further reloads (idempotent). Call it before the core shuts down:
    /// a reload after that would make backends nobody shuts down.
    public func stop() {
        let watcher = state.withLock { state -> FileWatcher? in
            state.stopped = true
            state.again = false
            defer { state.watcher = nil }
            return state.watcher
        }
        watcher?.stop()
    }
}

/// inotify on a few directories, on a thread of its own, calling back after a quiet period.
final class FileWatcher: Sendable {
    struct Target: Sendable {
        let directory: String
        let accepts: @Sendable (String) -> Bool
    }

    private let fd: Int32
    /// Written to wake the thread for stopping.
    private let wake: (read: Int32, write: Int32)
    private let watches: [Int32: Target]
    /// `stopped`: asked to stop; `exited`: the thread ended and closed the descriptors (set under
    /// the same lock before it closes them, so `stop` never writes to a closed, maybe reused, one).
    private let life = Locked<(stopped: Bool, exited: Bool)>((false, false))

    init?(targets: [Target], quiet: Double, logger: Logger, onChange: @escaping @Sendable () -> Void) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else {
            logger.warning("config files are not watched (inotify: \(String(cString: strerror(errno)))); reload with SIGHUP")
            return nil
        }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            return nil
        }
        for end in pipeFDs {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        var watches: [Int32: Target] = [:]
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE)
        for target in targets {
            let wd = inotify_add_watch(fd, target.directory, mask)
            if wd >= 0 {
                watches[wd] = target
            } else {
                logger.info("not watching \(target.directory) for configuration changes: \(String(cString: strerror(errno)))")
            }
        }
        self.fd = fd
        self.wake = (pipeFDs[0], pipeFDs[1])
        self.watches = watches
        guard !watches.isEmpty else {
            close(fd)
            close(pipeFDs[0])
            close(pipeFDs[1])
            return nil
        }
        let quietMs = Int32(max(1, min(quiet * 1000, 60_000)))
        let thread = Thread { [self] in self.loop(quietMs: quietMs, onChange: onChange) }
        thread.name = "mcp-host config watcher"
        thread.start()
    }

    func stop() {
        life.withLock { life in
            guard !life.stopped else { return }
            life.stopped = true
            // Under the lock: the thread cannot have closed the pipe yet (see `life`).
            guard !life.exited else { return }
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }
    }

    private func loop(quietMs: Int32, onChange: @Sendable () -> Void) {
        defer {
            life.withLock { $0.exited = true }
            close(fd)
            close(wake.read)
            close(wake.write)
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var pending = false
        while !life.withLock({ $0.stopped }) {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, pending ? quietMs : -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            if ready == 0 {
                // Quiet since the last relevant event: reload once.
                pending = false
                onChange()
                continue
            }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            if relevant(buffer, count: count) { pending = true }
        }
    }

    /// Whether any event in the buffer names a file a target cares about.
    private func relevant(_ buffer: [UInt8], count: Int) -> Bool {
        let header = MemoryLayout<inotify_event>.size
        var offset = 0
        var any = false
        while offset + header <= count {
            let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                return (event.wd, event.mask, Int(event.len))
            }
            // The kernel's queue overflowed: events were lost, one may have been ours.
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { any = true }
            let nameStart = offset + header
            let nameEnd = min(count, nameStart + length)
            if let target = watches[wd], nameStart <= nameEnd {
                let name = String(decoding: buffer[nameStart..<nameEnd].prefix { $0 != 0 }, as: UTF8.self)
                if target.accepts(name) { any = true }
            }
            offset = nameStart + length
        }
        return any
    }
}
