/// The terminal table: one row per metric (mode, metric, value, target, result), columns padded
/// to the widest cell.
public enum ResultTable {
    public static func render(_ metrics: [Metric]) -> String {
        let header = ["mode", "metric", "value", "target", "result"]
        let rows = metrics.map { [$0.mode, $0.name, $0.formattedValue, $0.formattedTarget, verdictText($0.verdict)] }
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                column == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    public static func verdictText(_ verdict: Metric.Verdict) -> String {
        switch verdict {
        case .pass: "pass"
        case .fail: "FAIL"
        case .info: ""
        case .missing: "MISSING"
        }
    }
}
