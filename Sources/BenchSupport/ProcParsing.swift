/// Parsing of Linux `/proc` files for the host's resident memory, CPU time and process tree.
/// Pure: callers read the files and pass the text; every parser returns nil for text it does
/// not recognise instead of trapping.
public enum ProcParsing {
    /// Resident set size in bytes from `/proc/PID/status` (the `VmRSS:   1234 kB` line).
    public static func residentBytes(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let number = parts.first.flatMap({ UInt64($0) }) else { return nil }
            let unit = parts.count > 1 ? parts[1].lowercased() : "kb"
            let scale: UInt64 = unit == "kb" ? 1024 : unit == "mb" ? 1024 * 1024 : unit == "b" ? 1 : 0
            guard scale > 0 else { return nil }
            let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
            return overflow ? nil : bytes
        }
        return nil
    }

    /// Resident set size in bytes from `/proc/PID/statm` (second field, in pages).
    public static func residentBytes(statm: String, pageSize: UInt64) -> UInt64? {
        let fields = statm.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let pages = UInt64(fields[1]) else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? nil : bytes
    }

    /// The fields of `/proc/PID/stat` the benchmark uses.
    public struct Stat: Equatable, Sendable {
        public var pid: Int32
        /// The command name without its parentheses (may contain spaces and parentheses itself).
        public var command: String
        public var state: Character
        public var parentPID: Int32
        /// User and system CPU time in clock ticks (`sysconf(_SC_CLK_TCK)` per second).
        public var userTicks: UInt64
        public var systemTicks: UInt64
        public var totalTicks: UInt64 { userTicks &+ systemTicks }
    }

    /// Parses `/proc/PID/stat`: `pid (comm) state ppid ... utime stime ...`. The command name can
    /// hold spaces and `)`, so the fields are counted from the LAST `)`.
    public static func stat(_ text: String) -> Stat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
              let pid = Int32(text[..<open].trimmingSpaces(" ")) else { return nil }
        let command = String(text[text.index(after: open)..<close])
        let rest = text[text.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
        // rest[0] is field 3 (state); field n is rest[n - 3]: ppid 4, utime 14, stime 15.
        guard rest.count >= 13, let state = rest[0].first, let parent = Int32(rest[1]),
              let user = UInt64(rest[11]), let system = UInt64(rest[12]) else { return nil }
        return Stat(pid: pid, command: command, state: state, parentPID: parent, userTicks: user, systemTicks: system)
    }

    /// CPU seconds between two tick counts of one process; 0 if the counter went backwards (a
    /// different process reusing the pid), never a trap.
    public static func cpuSeconds(from before: UInt64, to after: UInt64, ticksPerSecond: Int) -> Double {
        guard after >= before, ticksPerSecond > 0 else { return 0 }
        return Double(after - before) / Double(ticksPerSecond)
    }
}

extension Substring {
    fileprivate func trimmingSpaces(_ character: Character) -> Substring {
        var s = self
        while s.first == character { s = s.dropFirst() }
        while s.last == character { s = s.dropLast() }
        return s
    }
}

/// The descendants of one process, from (pid, parent pid) pairs read out of `/proc/*/stat`.
public struct ProcessTree: Equatable, Sendable {
    /// Direct children of the root.
    public var children: [Int32]
    /// Every process below the root (children, grandchildren, ...), the root not included.
    public var descendants: [Int32]

    /// Builds the tree under `root`. Cycles (impossible in a consistent snapshot, possible in a
    /// torn one) are cut: each pid is visited once.
    public init(root: Int32, parents: [(pid: Int32, parent: Int32)]) {
        var byParent: [Int32: [Int32]] = [:]
        for entry in parents where entry.pid != entry.parent {
            byParent[entry.parent, default: []].append(entry.pid)
        }
        children = (byParent[root] ?? []).sorted()
        var seen: Set<Int32> = [root]
        var queue = children
        var all: [Int32] = []
        while let next = queue.popLast() {
            guard seen.insert(next).inserted else { continue }
            all.append(next)
            queue.append(contentsOf: byParent[next] ?? [])
        }
        descendants = all.sorted()
    }
}
