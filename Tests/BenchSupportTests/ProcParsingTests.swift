import Testing
@testable import BenchSupport

@Suite struct ProcParsingTests {
    static let status = """
        Name:\tmcp-host
        Umask:\t0022
        State:\tS (sleeping)
        VmPeak:\t  812344 kB
        VmRSS:\t   34816 kB
        RssAnon:\t   20480 kB
        Threads:\t12
        """

    @Test func residentBytesFromStatus() {
        #expect(ProcParsing.residentBytes(status: Self.status) == 34816 * 1024)
        #expect(ProcParsing.residentBytes(status: "Name:\tx\n") == nil)
        #expect(ProcParsing.residentBytes(status: "VmRSS:\tlots kB\n") == nil)
        #expect(ProcParsing.residentBytes(status: "VmRSS:\t99999999999999999 kB\n") == nil) // overflows: nil, no trap
    }

    @Test func residentBytesFromStatm() {
        #expect(ProcParsing.residentBytes(statm: "203086 8704 3000 1 0 20000 0\n", pageSize: 4096) == 8704 * 4096)
        #expect(ProcParsing.residentBytes(statm: "203086\n", pageSize: 4096) == nil)
    }

    @Test func statWithACommandHoldingSpacesAndParentheses() throws {
        // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let text = "4242 (mcp host (x) ) S 17 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 12 0 100 1000 200\n"
        let stat = try #require(ProcParsing.stat(text))
        #expect(stat.pid == 4242)
        #expect(stat.command == "mcp host (x) ")
        #expect(stat.state == "S")
        #expect(stat.parentPID == 17)
        #expect(stat.userTicks == 1234)
        #expect(stat.systemTicks == 567)
        #expect(stat.totalTicks == 1801)
    }

    @Test func statRejectsTruncatedText() {
        #expect(ProcParsing.stat("") == nil)
        #expect(ProcParsing.stat("12 (x) S 1 2 3") == nil)
        #expect(ProcParsing.stat("12 x) S 1 2 3 4 5 6 7 8 9 10 11 12 13") == nil)
        #expect(ProcParsing.stat("ab (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13") == nil)
    }

    @Test func cpuSecondsNeverGoNegative() {
        #expect(ProcParsing.cpuSeconds(from: 100, to: 350, ticksPerSecond: 100) == 2.5)
        #expect(ProcParsing.cpuSeconds(from: 350, to: 100, ticksPerSecond: 100) == 0)
        #expect(ProcParsing.cpuSeconds(from: 0, to: 100, ticksPerSecond: 0) == 0)
    }

    @Test func processTreeCountsChildrenAndDescendants() {
        // 10 is the host: two supervisors (11, 12), each with a backend (21, 22), one backend with
        // a helper (31); 40 is unrelated, and 50/51 form a cycle (a torn snapshot).
        let parents: [(pid: Int32, parent: Int32)] = [(11, 10), (12, 10), (21, 11), (22, 12), (31, 21), (40, 1), (50, 51), (51, 50), (10, 1)]
        let tree = ProcessTree(root: 10, parents: parents)
        #expect(tree.children == [11, 12])
        #expect(tree.descendants == [11, 12, 21, 22, 31])
        #expect(ProcessTree(root: 99, parents: parents).descendants.isEmpty)
        #expect(ProcessTree(root: 50, parents: parents).descendants == [51])
    }
}
