/// Counts the answers in a stream of newline-delimited JSON-RPC messages, and the error answers
/// among them, as the bytes arrive in chunks of any size: a benchmark that counted only lines
/// would report the speed of error answers (a host whose backend never started answers very fast).
///
/// An error answer is a line containing `"error":{` outside any string: the echo tools' results
/// never contain it, so it is exact for the benchmark's own backends.
public struct ResponseScan: Sendable {
    public private(set) var lines = 0
    public private(set) var errors = 0
    /// The line being read contained the pattern already.
    private var lineHasError = false
    /// How many bytes of the pattern the bytes just seen end with.
    private var matched = 0
    private static let pattern = Array(#""error":{"#.utf8)

    public init() {}

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            if byte == 0x0A {
                lines += 1
                if lineHasError { errors += 1 }
                lineHasError = false
                matched = 0
                continue
            }
            if byte == Self.pattern[matched] {
                matched += 1
                if matched == Self.pattern.count {
                    lineHasError = true
                    matched = 0
                }
            } else {
                matched = byte == Self.pattern[0] ? 1 : 0
            }
        }
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }
}
