import BenchSupport
import Foundation

/// Collects the metrics of a run: each is printed as a table row on stderr as it arrives (so a
/// long run shows progress), appended as one JSON line to `--json FILE`, and the whole table is
/// printed on stdout at the end.
final class Reporter {
    private(set) var metrics: [Metric] = []
    private let json: FileHandle?

    init(jsonPath: String?) throws {
        if let jsonPath {
            guard FileManager.default.createFile(atPath: jsonPath, contents: nil) else {
                throw BenchError("cannot create the results file \(jsonPath)")
            }
            json = FileHandle(forWritingAtPath: jsonPath)
        } else {
            json = nil
        }
    }

    func add(_ metric: Metric) {
        metrics.append(metric)
        let target = metric.formattedTarget.isEmpty ? "" : "  (target \(metric.formattedTarget): \(ResultTable.verdictText(metric.verdict)))"
        log("\(metric.mode): \(metric.name) = \(metric.formattedValue)\(target)")
        json?.write(Data((MetricLine.encode(metric) + "\n").utf8))
    }

    func add(mode: String, _ name: String, _ value: Double?, _ unit: Metric.Unit, target: Metric.Target? = nil, note: String? = nil) {
        add(Metric(mode: mode, name: name, value: value, unit: unit, target: target, note: note))
    }

    /// Child-process counts of the host: direct children and the whole tree below it.
    func addProcessCounts(mode: String, hostPID: Int32, note: String? = nil) {
        let tree = ProcessStats.tree(hostPID)
        add(mode: mode, "host child processes (direct)", Double(tree.children.count), .count, note: note)
        add(mode: mode, "host child processes (whole tree)", Double(tree.descendants.count), .count, note: note)
    }

    func finish() {
        try? json?.close()
        print(ResultTable.render(metrics), terminator: "")
        print(MarkdownReport.summary(metrics))
    }
}
