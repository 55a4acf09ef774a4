/// Replaces byte ranges of a message with new bytes, leaving everything else as it was.
public enum ByteSplice {
    public struct Edit: Sendable {
        public var range: Range<Int>
        public var replacement: [UInt8]
        public init(_ range: Range<Int>, _ replacement: [UInt8]) {
            self.range = range
            self.replacement = replacement
        }
    }

    /// Applies non-overlapping edits (in any order) to `bytes`.
    public static func apply(_ edits: [Edit], to bytes: [UInt8]) -> [UInt8] {
        guard !edits.isEmpty else { return bytes }
        let sorted = edits.count == 1 ? edits : edits.sorted { $0.range.lowerBound < $1.range.lowerBound }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + sorted.reduce(0) { $0 + $1.replacement.count - $1.range.count })
        var cursor = 0
        for edit in sorted {
            precondition(edit.range.lowerBound >= cursor, "overlapping splice edits")
            out.append(contentsOf: bytes[cursor..<edit.range.lowerBound])
            out.append(contentsOf: edit.replacement)
            cursor = edit.range.upperBound
        }
        out.append(contentsOf: bytes[cursor...])
        return out
    }
}
