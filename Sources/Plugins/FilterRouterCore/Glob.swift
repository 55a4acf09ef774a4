/// A glob pattern over item names: `*` matches any run of characters (including none, and
/// including `/`), `?` exactly one character, `\` makes the next character literal (`\*`, `\?`,
/// `\\`; a trailing lone `\` is a literal backslash). Everything else matches itself, case
/// sensitively. Characters are Unicode scalars, so `?` matches one `é`, not one byte of it.
///
/// Matching is the iterative two-pointer algorithm with one backtrack point: at most
/// O(pattern × text) steps, no recursion, so a hostile pattern or name cannot blow the stack.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    enum Token: Sendable, Equatable {
        case literal(Unicode.Scalar)
        case one
        case any
    }

    /// The pattern as written in the settings.
    public let pattern: String
    let tokens: [Token]

    public init(_ pattern: String) {
        self.pattern = pattern
        var tokens: [Token] = []
        var scalars = pattern.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            switch scalar {
            case "*":
                if tokens.last != .any { tokens.append(.any) } // `**` is `*`
            case "?":
                tokens.append(.one)
            case "\\":
                tokens.append(.literal(scalars.next() ?? "\\"))
            default:
                tokens.append(.literal(scalar))
            }
        }
        self.tokens = tokens
    }

    public var description: String { pattern }

    /// Whether the whole of `text` matches the pattern.
    public func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        var p = 0, s = 0
        // The last `*` seen and the text position it currently stands for the end of.
        var star: (pattern: Int, text: Int)?
        while s < scalars.count {
            if p < tokens.count {
                switch tokens[p] {
                case .one:
                    p += 1; s += 1
                    continue
                case .literal(let c) where c == scalars[s]:
                    p += 1; s += 1
                    continue
                case .any:
                    star = (p, s)
                    p += 1
                    continue
                case .literal:
                    break
                }
            }
            // Mismatch: let the last `*` swallow one more character, or fail.
            guard let last = star else { return false }
            star = (last.pattern, last.text + 1)
            p = last.pattern + 1
            s = last.text + 1
        }
        while p < tokens.count, tokens[p] == .any { p += 1 }
        return p == tokens.count
    }
}
