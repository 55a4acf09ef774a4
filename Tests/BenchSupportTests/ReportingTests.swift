import Testing
@testable import BenchSupport

@Suite struct ReportingTests {
    @Test func numbersAreFormattedWithoutTheLocale() {
        #expect(NumberFormatting.grouped(1234567.4, decimals: 0) == "1,234,567")
        #expect(NumberFormatting.grouped(999.5, decimals: 0) == "1,000")
        #expect(NumberFormatting.grouped(-1234.56, decimals: 1) == "-1,234.6")
        #expect(NumberFormatting.fixed(0.125, decimals: 2) == "0.13") // exactly representable: half away from zero
        #expect(NumberFormatting.fixed(0.52, decimals: 2) == "0.52")
        #expect(NumberFormatting.fixed(3, decimals: 0) == "3")
        #expect(NumberFormatting.fixed(0.05, decimals: 3) == "0.050")
        #expect(NumberFormatting.fixed(-0.0001, decimals: 2) == "0.00")
        #expect(NumberFormatting.fixed(1e300, decimals: 2) == "1e+300")
        #expect(NumberFormatting.format(31234.5, unit: .callsPerSecond) == "31,235 calls/s")
        #expect(NumberFormatting.format(12.34, unit: .microseconds) == "12.3 µs")
        #expect(NumberFormatting.format(4812, unit: .microseconds) == "4,812 µs")
        #expect(NumberFormatting.format(35.26, unit: .megabytes) == "35.3 MB")
    }

    @Test func verdictsFollowTheTarget() {
        #expect(Metric(mode: "m", name: "n", value: 0.6, unit: .ratio, target: .atLeast(0.5)).verdict == .pass)
        #expect(Metric(mode: "m", name: "n", value: 0.4, unit: .ratio, target: .atLeast(0.5)).verdict == .fail)
        #expect(Metric(mode: "m", name: "n", value: 0.5, unit: .ratio, target: .atLeast(0.5)).verdict == .pass)
        #expect(Metric(mode: "m", name: "n", value: 80, unit: .megabytes, target: .atMost(80)).verdict == .pass)
        #expect(Metric(mode: "m", name: "n", value: 81, unit: .megabytes, target: .atMost(80)).verdict == .fail)
        #expect(Metric(mode: "m", name: "n", value: nil, unit: .megabytes, target: .atMost(80)).verdict == .missing)
        #expect(Metric(mode: "m", name: "n", value: .nan, unit: .megabytes, target: .atMost(80)).verdict == .missing)
        #expect(Metric(mode: "m", name: "n", value: 3, unit: .count).verdict == .info)
    }

    @Test func jsonLinesRoundTrip() throws {
        let metrics = [
            Metric(mode: "http", name: "JSON, 64 sessions", value: 31234.5, unit: .callsPerSecond, target: .atLeast(30000), note: "median of 3"),
            Metric(mode: "scale", name: "host RSS peak", value: nil, unit: .megabytes, target: .atMost(80)),
            Metric(mode: "memory", name: "children", value: 10, unit: .count),
        ]
        let lines = metrics.map(MetricLine.encode)
        #expect(lines[0] == #"{"metric":"JSON, 64 sessions","mode":"http","note":"median of 3","target":30000,"target_op":">=","unit":"calls/s","value":31234.5,"verdict":"pass"}"#)
        #expect(!lines.contains { $0.contains("\n") })
        let decoded = try MetricLine.decode(lines.joined(separator: "\n") + "\n\n")
        #expect(decoded == metrics)
    }

    @Test func malformedResultsLinesAreNamed() {
        #expect(throws: BenchError("results line 2: unknown unit \"furlongs\"")) {
            try MetricLine.decode(#"{"mode":"a","metric":"b","value":1,"unit":"count"}"# + "\n" + #"{"mode":"a","metric":"b","value":1,"unit":"furlongs"}"#)
        }
        #expect(throws: BenchError.self) { try MetricLine.decode("not json") }
    }

    @Test func tableAlignsColumnsAndMarksFailures() {
        let table = ResultTable.render([
            Metric(mode: "stdio", name: "window 64 ratio", value: 0.61, unit: .ratio, target: .atLeast(0.5)),
            Metric(mode: "scale", name: "RSS", value: 90, unit: .megabytes, target: .atMost(80)),
        ])
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0] == "mode   metric           value    target     result")
        #expect(lines[2] == "stdio  window 64 ratio  0.61     ≥ 0.50     pass")
        #expect(lines[3] == "scale  RSS              90.0 MB  ≤ 80.0 MB  FAIL")
    }

    @Test func markdownFillsTheTemplate() {
        let metrics = [
            Metric(mode: "stdio", name: "window 64 | ratio", value: 0.61, unit: .ratio, target: .atLeast(0.5)),
            Metric(mode: "memory", name: "RSS", value: 41, unit: .megabytes, target: .atMost(40)),
            Metric(mode: "stdio", name: "direct", value: 500000, unit: .callsPerSecond, note: "median of 3"),
        ]
        let machine = MarkdownReport.parseMachine("cpu: Some CPU @ 2.0GHz\ncores: 2\n\nnot a pair\nkernel:6.1\n")
        #expect(machine.map(\.key) == ["cpu", "cores", "kernel"])
        #expect(machine.map(\.value) == ["Some CPU @ 2.0GHz", "2", "6.1"])
        let text = MarkdownReport.render(template: "# B\n{{command}}\n{{summary}}\n{{machine}}\n{{results}}\n", metrics: metrics,
                                         machine: machine, command: "scripts/bench")
        #expect(text.contains("scripts/bench\n1 of 2 targets met, 1 missed.\n"))
        #expect(text.contains("| cpu | Some CPU @ 2.0GHz |"))
        #expect(text.contains("| window 64 \\| ratio | 0.61 | ≥ 0.50 | pass |"))
        #expect(text.contains("| direct | 500,000 calls/s (median of 3) |  |  |"))
        #expect(text.contains("| RSS | 41.0 MB | ≤ 40.0 MB | **FAIL** |"))
        // Modes in order of first appearance, each once.
        let stdio = text.range(of: "### stdio")
        let memory = text.range(of: "### Memory")
        #expect(stdio != nil && memory != nil)
        if let stdio, let memory { #expect(stdio.lowerBound < memory.lowerBound) }
        #expect(text.components(separatedBy: "### stdio").count == 2)
    }
}
