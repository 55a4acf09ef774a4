#if canImport(Glibc)
import Glibc
#endif

/// Splits a blocking file descriptor's bytes into lines (without the `\n`, and without a `\r`
/// before it). Lines longer than `limit` are reported as overlong and skipped.
public struct LineReader {
    public enum Line {
        case line([UInt8])
        case overlong(Int)
    }

    public let fd: Int32
    public let limit: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var skipping = 0
    private var eof = false
    private var chunk = [UInt8](repeating: 0, count: 65536)

    public init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
    }

    public mutating func next() -> Line? {
        var scanFrom = start
        while true {
            if let newline = buffer[scanFrom...].firstIndex(of: 0x0A) {
                var end = newline
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                if skipping > 0 {
                    let total = skipping + line.count
                    skipping = 0
                    return .overlong(total)
                }
                return .line(line)
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return skipping > 0 ? .overlong(skipping + line.count) : .line(line)
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            if buffer.count > limit {
                skipping += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
            scanFrom = buffer.count
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                eof = true
            } else if n == 0 {
                eof = true
            } else {
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
    }
}

