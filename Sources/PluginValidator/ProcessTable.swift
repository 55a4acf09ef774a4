#if canImport(Glibc)
import Glibc
#endif
import Host

/// Processes as `/proc` lists them: enough to find what a transport left behind (children of the
/// validator's process, and members of the process group a transport reported in OPENED).
enum ProcessTable {
    struct Entry: Sendable, Equatable {
        let pid: Int32
        let parent: Int32
        let group: Int32
        /// The state letter (R, S, D, Z = exited but not reaped, ...).
        let state: Character
        let command: String

        var isZombie: Bool { state == "Z" || state == "X" }

        var shown: String { "pid \(pid) (\(command)\(isZombie ? ", exited but never reaped" : ""))" }
    }

    /// Every process of the system, read from `/proc/[pid]/stat` (ones that vanish meanwhile are skipped).
    static func all() -> [Entry] {
        guard let names = HostPaths.listDirectory("/proc") else { return [] }
        return names.compactMap { name in
            guard let pid = Int32(name), pid > 0, let bytes = HostPaths.readFile("/proc/\(name)/stat") else { return nil }
            return parse(stat: bytes, pid: pid)
        }
    }

    /// Parses `/proc/[pid]/stat`: "pid (command) S ppid pgrp ..."; the command may hold spaces and
    /// parentheses, so the fields after it are found after the last ')'.
    static func parse(stat bytes: [UInt8], pid: Int32) -> Entry? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")), open < close else { return nil }
        let command = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 3, let state = String(decoding: fields[fields.startIndex], as: UTF8.self).first,
              let parent = Int32(String(decoding: fields[fields.startIndex + 1], as: UTF8.self)),
              let group = Int32(String(decoding: fields[fields.startIndex + 2], as: UTF8.self)) else { return nil }
        return Entry(pid: pid, parent: parent, group: group, state: state, command: command)
    }

    /// The pids of this process's children right now.
    static func children(of pid: Int32 = getpid()) -> Set<Int32> {
        Set(all().filter { $0.parent == pid }.map(\.pid))
    }

    /// What a connection left behind: children of this process that were not there before it
    /// opened, and (when the transport reported one) members of the process group `group`.
    static func leftovers(before: Set<Int32>, group: Int32?) -> [Entry] {
        let me = getpid()
        let ownGroup = getpgrp()
        return all().filter { entry in
            guard entry.pid != me else { return false }
            if entry.parent == me && !before.contains(entry.pid) { return true }
            if let group, group > 1, group != ownGroup, entry.group == group { return true }
            return false
        }
    }

    /// Kills what was left behind (SIGKILL; the process groups too) and reaps this process's
    /// children among them, so that the validator itself leaves nothing behind.
    static func clean(_ entries: [Entry], group: Int32?) {
        let me = getpid()
        if let group, group > 1, group != getpgrp() { kill(-group, SIGKILL) }
        for entry in entries where !entry.isZombie { kill(entry.pid, SIGKILL) }
        let deadline = MonotonicClock.deadline(after: 2, from: MonotonicClock.nanoseconds())
        var pending = Set(entries.filter { $0.parent == me }.map(\.pid))
        while !pending.isEmpty && MonotonicClock.nanoseconds() < deadline {
            for pid in pending {
                var status: Int32 = 0
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid || (result < 0 && errno == ECHILD) { pending.remove(pid) }
            }
            if !pending.isEmpty {
                var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
                nanosleep(&pause, nil)
            }
        }
    }
}
