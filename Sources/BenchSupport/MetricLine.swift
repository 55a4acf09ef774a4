import Foundation

/// The JSON-lines form of a `Metric`: one object per line,
///
///     {"mode":"http","metric":"JSON, 64 sessions","value":31234.5,"unit":"calls/s","target_op":">=","target":30000,"verdict":"pass"}
///
/// `value` is null when missing; `target_op`, `target` and `note` are absent without them. The
/// verdict is written for readers of the file and recomputed on reading.
public enum MetricLine {
    private struct Line: Codable {
        var mode: String
        var metric: String
        var value: Double?
        var unit: String
        var target_op: String?
        var target: Double?
        var verdict: String?
        var note: String?
    }

    /// One metric as one line of JSON (no newline), keys in a fixed order.
    public static func encode(_ metric: Metric) -> String {
        let line = Line(mode: metric.mode, metric: metric.name, value: metric.value, unit: metric.unit.rawValue,
                        target_op: metric.target?.comparison.rawValue, target: metric.target?.bound,
                        verdict: metric.verdict.rawValue, note: metric.note)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(line), let text = String(data: data, encoding: .utf8) else {
            return #"{"metric":"unencodable"}"#
        }
        return text
    }

    /// Reads JSON lines back; blank lines are skipped, a malformed line is an error naming its
    /// line number.
    public static func decode(_ text: String) throws -> [Metric] {
        var metrics: [Metric] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let decoded: Line
            do {
                decoded = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
            } catch {
                throw BenchError("results line \(index + 1) is not a metric (\(error)): \(line.prefix(200))")
            }
            guard let unit = Metric.Unit(rawValue: decoded.unit) else {
                throw BenchError("results line \(index + 1): unknown unit \(decoded.unit.debugDescription)")
            }
            var target: Metric.Target?
            if let op = decoded.target_op, let bound = decoded.target {
                guard let comparison = Metric.Target.Comparison(rawValue: op) else {
                    throw BenchError("results line \(index + 1): unknown target_op \(op.debugDescription) (use >= or <=)")
                }
                target = Metric.Target(comparison, bound)
            }
            metrics.append(Metric(mode: decoded.mode, name: decoded.metric, value: decoded.value, unit: unit,
                                  target: target, note: decoded.note))
        }
        return metrics
    }
}
