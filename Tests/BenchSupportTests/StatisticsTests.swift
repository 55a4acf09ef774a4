import Testing
@testable import BenchSupport

@Suite struct StatisticsTests {
    @Test func medianOfOddAndEvenCounts() {
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
        #expect(Statistics.median([7]) == 7)
        #expect(Statistics.median([]) == nil)
        #expect(Statistics.median([.nan, 5]) == 5)
    }

    @Test func nearestRankPercentiles() {
        let values = (1...100).map(Double.init).shuffled()
        #expect(Statistics.percentile(values, 50) == 50)
        #expect(Statistics.percentile(values, 99) == 99)
        #expect(Statistics.percentile(values, 99.9) == 100)
        #expect(Statistics.percentile(values, 100) == 100)
        #expect(Statistics.percentile(values, 0) == 1)
        #expect(Statistics.percentile([10, 20, 30, 40], 50) == 20)
        #expect(Statistics.percentile([10, 20, 30, 40], 51) == 30)
        #expect(Statistics.percentile([42], 99) == 42)
        #expect(Statistics.percentile([], 50) == nil)
        #expect(Statistics.percentile([1, 2], 101) == nil)
        #expect(Statistics.percentile([1, 2], -1) == nil)
    }

    @Test func meanIgnoresNonFiniteValues() {
        #expect(Statistics.mean([1, 2, 3, .infinity]) == 2)
        #expect(Statistics.mean([]) == nil)
    }

    @Test func spreadOfPerSessionCounts() throws {
        let spread = try #require(Spread([90, 100, 110, 100, 50]))
        #expect(spread == Spread(min: 50, median: 100, max: 110))
        #expect(spread.minOverMedian == 0.5)
        #expect(spread.maxOverMedian == 1.1)
        #expect(Spread([]) == nil)
        #expect(Spread(min: 0, median: 0, max: 3).minOverMedian == nil)
    }
}
