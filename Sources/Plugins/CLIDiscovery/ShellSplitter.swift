/// POSIX shell word splitting without expansion (see `ShellWords.split`).
enum ShellSplitter {
    static func split(_ text: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false  // true once a word has started, even if empty ("''" is one empty word)
        var iterator = Array(text.unicodeScalars).makeIterator()

        func unbalanced(_ what: String) -> ArgumentError {
            ArgumentError(code: .unbalancedQuotes,
                          message: "cannot split 'args': \(what); quote with '...' or \"...\" and close every quote")
        }

        while let c = iterator.next() {
            switch c {
            case " ", "\t", "\n", "\r":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            case "'":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    if q == "'" { closed = true; break }
                    current.unicodeScalars.append(q)
                }
                if !closed { throw unbalanced("unclosed single quote") }
            case "\"":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    if q == "\"" { closed = true; break }
                    if q == "\\" {
                        guard let next = iterator.next() else { break }
                        switch next {
                        case "\"", "\\", "$", "`": current.unicodeScalars.append(next)
                        case "\n": break  // line continuation
                        default:
                            current.unicodeScalars.append("\\")
                            current.unicodeScalars.append(next)
                        }
                        continue
                    }
                    current.unicodeScalars.append(q)
                }
                if !closed { throw unbalanced("unclosed double quote") }
            case "\\":
                guard let next = iterator.next() else { throw unbalanced("trailing backslash") }
                if next == "\n" { continue }  // line continuation
                inWord = true
                current.unicodeScalars.append(next)
            default:
                inWord = true
                current.unicodeScalars.append(c)
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
