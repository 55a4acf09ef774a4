/// Order statistics for benchmark samples: medians of rounds, percentiles of latencies, and the
/// spread of per-session counts. Pure functions over finite values; an empty input gives nil
/// rather than a trap, so a run that produced nothing reports "no value" instead of crashing.
public enum Statistics {
    /// The median (for an even count, the mean of the two middle values); nil for no values.
    public static func median(_ values: [Double]) -> Double? {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The nearest-rank percentile: the smallest value with at least `p`% of the values at or
    /// below it (`p` in 0...100; 0 gives the minimum). Nil for no values or `p` outside 0...100.
    public static func percentile(_ values: [Double], _ p: Double) -> Double? {
        let sorted = values.filter(\.isFinite).sorted()
        return percentile(sorted: sorted, p)
    }

    /// As `percentile(_:_:)` for values already sorted ascending (several percentiles of one
    /// large sample sort once).
    public static func percentile(sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty, p >= 0, p <= 100 else { return nil }
        // rank = ceil(p/100 * n), at least 1; computed in Double and range-checked before Int().
        let rank = (p / 100 * Double(sorted.count)).rounded(.up)
        guard rank.isFinite else { return nil }
        let index = rank <= 1 ? 0 : (rank >= Double(sorted.count) ? sorted.count - 1 : Int(rank) - 1)
        return sorted[index]
    }

    /// The arithmetic mean; nil for no values.
    public static func mean(_ values: [Double]) -> Double? {
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return nil }
        return finite.reduce(0, +) / Double(finite.count)
    }
}

/// How evenly work was shared: the least, median and most of a set of per-session counts.
public struct Spread: Equatable, Sendable, Codable {
    public var min: Double
    public var median: Double
    public var max: Double

    public init(min: Double, median: Double, max: Double) {
        self.min = min
        self.median = median
        self.max = max
    }

    /// The spread of these values; nil for no values.
    public init?(_ values: [Double]) {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), let middle = Statistics.median(finite) else { return nil }
        self.init(min: low, median: middle, max: high)
    }

    /// min / median: 1 is perfectly fair, 0 means some session got nothing. Nil when the median
    /// is 0 (nobody got anything, so fairness is not defined).
    public var minOverMedian: Double? { median > 0 ? min / median : nil }

    /// max / median; nil when the median is 0.
    public var maxOverMedian: Double? { median > 0 ? max / median : nil }
}
