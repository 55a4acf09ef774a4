/// Parses help text into a `HelpPage` (see `HelpParser`).
///
/// The text is read line by line. Lines at column 0 are headings ("Options:", "Available Commands:",
/// git's "start a working area (see also: ...)") or prose; indented lines are entries of the current
/// section (options, subcommands, positional arguments) or the wrapped continuation of the entry
/// above. Entries are recognised by strict shapes (see `OptionLine`, `entry(...)`), so a line of
/// prose is never taken for an option or a subcommand. The usage line is read by `UsageLine`.
enum HelpTextParser {
    /// Longest help text read; the rest is ignored (real help pages are a few KiB).
    static let maxInputBytes = 512 * 1024
    /// Most lines read.
    static let maxLines = 5_000
    /// Most options, subcommands and positionals kept, each.
    static let maxEntries = 1_000
    /// Longest usage text kept, in lines.
    static let maxUsageLines = 24

    static func parse(_ text: String) -> HelpPage? {
        var reader = Reader()
        for line in HelpLines.split(text, maxBytes: maxInputBytes, maxLines: maxLines) {
            reader.consume(line)
        }
        return reader.finish()
    }
}

/// One line of help text, tabs expanded, control sequences removed.
struct HelpLine {
    var raw: String
    var indent: Int
    var text: String
}

enum HelpLines {
    static func split(_ text: String, maxBytes: Int, maxLines: Int) -> [HelpLine] {
        var source = text
        if source.utf8.count > maxBytes {
            source = String(decoding: source.utf8.prefix(maxBytes), as: UTF8.self)
        }
        var lines: [HelpLine] = []
        var current: [Character] = []
        var column = 0
        var iterator = source.unicodeScalars.makeIterator()
        func finishLine() {
            while current.last == " " { current.removeLast() }
            let raw = String(current)
            let indent = current.prefix { $0 == " " }.count
            lines.append(HelpLine(raw: raw, indent: indent, text: String(current.dropFirst(indent))))
            current.removeAll(keepingCapacity: true)
            column = 0
        }
        var afterCR = false
        while let scalar = iterator.next(), lines.count < maxLines {
            defer { afterCR = scalar == "\r" }
            switch scalar {
            case "\n":
                if afterCR { continue }  // "\r\n" is one break
                finishLine()
            case "\r":
                finishLine()
            case "\t":
                // To the next multiple of 8, and at least two spaces: a tab separates columns.
                let next = max((column / 8 + 1) * 8, column + 2)
                while column < next { current.append(" "); column += 1 }
            case "\u{1B}":
                // ANSI escape: ESC [ parameters final-byte, or ESC and one character.
                if let n = iterator.next(), n == "[" {
                    while let c = iterator.next(), !("@"..."~").contains(c) {}
                }
            case "\u{08}":
                // Overstrike (man-page bold and underline): drop the character before.
                if !current.isEmpty { current.removeLast(); column -= 1 }
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                current.append(Character(scalar))
                column += 1
            }
        }
        if !current.isEmpty, lines.count < maxLines { finishLine() }
        return lines
    }
}
