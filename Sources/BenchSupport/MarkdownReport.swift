/// Turns the JSON-lines results and the machine description into `docs/benchmarks.md`.
///
/// The template (scripts/benchmarks.md.in) holds the hand-written parts; these placeholders are
/// replaced: `{{machine}}` (a table of the machine description), `{{results}}` (one table per
/// mode, in the order the modes first appear), `{{summary}}` (how many targets pass, fail or are
/// missing) and `{{command}}` (the command line that produced the results). A placeholder that is
/// absent from the template is simply not used.
public enum MarkdownReport {
    /// Reads the machine description: `key: value` lines in order; blank lines and lines without
    /// `:` are skipped.
    public static func parseMachine(_ text: String) -> [(key: String, value: String)] {
        text.split(separator: "\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let key = line[..<colon].trimmingSpaces()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            return key.isEmpty ? nil : (String(key), String(value))
        }
    }

    /// Human titles of the modes; other modes are titled by their own name.
    public static let modeTitles: [String: String] = [
        "stdio": "stdio: direct vs. through mcp-host",
        "http": "Streamable HTTP: 64 sessions, and the framework floor",
        "url": "An external endpoint (--url)",
        "floor": "The framework floor alone",
        "mix": "Isolation: slow backend A under load, fast backend B",
        "scale": "Scale: 1,000 sessions with GET streams",
        "memory": "Memory and start-up, every bundled plugin loaded",
    ]

    public static func render(template: String, metrics: [Metric], machine: [(key: String, value: String)], command: String) -> String {
        var output = template
        output = output.replacingAll("{{machine}}", with: machineTable(machine))
        output = output.replacingAll("{{results}}", with: results(metrics))
        output = output.replacingAll("{{summary}}", with: summary(metrics))
        output = output.replacingAll("{{command}}", with: command)
        return output
    }

    public static func machineTable(_ machine: [(key: String, value: String)]) -> String {
        var lines = ["| | |", "| --- | --- |"]
        for (key, value) in machine { lines.append("| \(escape(key)) | \(escape(value)) |") }
        return lines.joined(separator: "\n")
    }

    public static func results(_ metrics: [Metric]) -> String {
        var modes: [String] = []
        for metric in metrics where !modes.contains(metric.mode) { modes.append(metric.mode) }
        var sections: [String] = []
        for mode in modes {
            var lines = ["### \(modeTitles[mode] ?? mode)", "", "| metric | value | target | result |", "| --- | ---: | --- | --- |"]
            for metric in metrics where metric.mode == mode {
                let value = metric.formattedValue + (metric.note.map { " (\($0))" } ?? "")
                let verdict = metric.verdict == .fail ? "**FAIL**" : ResultTable.verdictText(metric.verdict)
                lines.append("| \(escape(metric.name)) | \(escape(value)) | \(escape(metric.formattedTarget)) | \(verdict) |")
            }
            sections.append(lines.joined(separator: "\n"))
        }
        return sections.joined(separator: "\n\n")
    }

    public static func summary(_ metrics: [Metric]) -> String {
        let targeted = metrics.filter { $0.target != nil }
        let passed = targeted.filter { $0.verdict == .pass }.count
        let failed = targeted.filter { $0.verdict == .fail }.count
        let missing = targeted.filter { $0.verdict == .missing }.count
        var text = "\(passed) of \(targeted.count) targets met"
        if failed > 0 { text += ", \(failed) missed" }
        if missing > 0 { text += ", \(missing) not measured" }
        return text + "."
    }

    /// Table cells: `|` escaped, newlines flattened.
    static func escape(_ text: String) -> String {
        text.replacingAll("|", with: "\\|").replacingAll("\n", with: " ")
    }
}

extension StringProtocol {
    func trimmingSpaces() -> Substring {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" || first == "\r" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s = s.dropLast() }
        return s
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation, so the result does not depend on it).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(ofText: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    /// The first range of `target`, by characters.
    fileprivate func firstRange(ofText target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty else { return nil }
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(target) {
                return start..<(index(start, offsetBy: target.count))
            }
            start = index(after: start)
        }
        return nil
    }
}
