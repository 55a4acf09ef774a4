/// What a usage line says: the subcommand path after the program name, the positional arguments
/// (required unless bracketed), the options (required when outside brackets and alternatives),
/// and an argparse-style `{a,b,c}` subcommand choice.
struct UsageLine {
    var program: String?
    var path: [String] = []
    var positionals: [Positional] = []
    var options: [Option] = []
    var requiredSpellings: Set<String> = []
    var choices: [String] = []

    /// Words that stand for "options here" or "a subcommand here", not for a positional argument.
    private static let genericWords: Set<String> = [
        "options", "option", "flags", "flag", "command", "commands", "subcommand", "args", "arguments",
        "argument", "arg", "global options", "global flags", "cmd",
    ]
    /// Most nodes read from one usage text; the rest is ignored.
    private static let maxNodes = 2_000

    private indirect enum Node {
        case word(String)
        case group(open: Character, [Node])
        case pipe
    }

    /// `text` is the first usage form without its `usage:` prefix, continuation lines joined.
    init(_ text: String) {
        var budget = Self.maxNodes
        var chars = Array(text)[...]
        let nodes = Self.parseNodes(&chars, close: nil, budget: &budget)
        var rest = nodes[...]
        guard case .word(let program)? = rest.first else {
            walk(Array(rest), required: true)
            return
        }
        self.program = program
        rest = rest.dropFirst()
        // Path words: plain lowercase words right after the program, never the last word.
        while rest.count > 1, case .word(let w)? = rest.first, Self.isPathWord(w) {
            path.append(w)
            rest = rest.dropFirst()
        }
        walk(Array(rest), required: true)
    }

    // MARK: Reading nodes

    private static func parseNodes(_ chars: inout ArraySlice<Character>, close: Character?, budget: inout Int) -> [Node] {
        var nodes: [Node] = []
        var word = ""
        func flush() {
            if !word.isEmpty { nodes.append(.word(word)); word = "" }
        }
        while let c = chars.first {
            chars = chars.dropFirst()
            budget -= 1
            if budget <= 0 { break }
            switch c {
            case " ", "\t", "\n":
                flush()
            case "|":
                flush()
                nodes.append(.pipe)
            case "[", "(", "{":
                if !word.isEmpty && c == "[" || !word.isEmpty && c == "{" {
                    // Attached: `--exec-path[=<path>]`, `file[.zip]`, `-S[<keyid>]`: part of the word.
                    word.append(c)
                    var depth = 1
                    while let d = chars.first, depth > 0 {
                        chars = chars.dropFirst()
                        if d == "[" || d == "{" { depth += 1 }
                        if d == "]" || d == "}" { depth -= 1 }
                        word.append(d)
                    }
                } else {
                    flush()
                    let closer: Character = c == "[" ? "]" : c == "(" ? ")" : "}"
                    let inner = parseNodes(&chars, close: closer, budget: &budget)
                    nodes.append(.group(open: c, inner))
                }
            case "]", ")", "}":
                flush()
                if c == close { return nodes }
            default:
                word.append(c)
            }
        }
        flush()
        return nodes
    }

    // MARK: Interpreting nodes

    private mutating func walk(_ nodes: [Node], required: Bool) {
        let hasPipe = nodes.contains { if case .pipe = $0 { return true } else { return false } }
        let required = required && !hasPipe
        var i = 0
        while i < nodes.count {
            switch nodes[i] {
            case .pipe:
                i += 1
            case .group(let open, let inner):
                if open == "{" {
                    addChoices(inner)
                } else if open == "[", inner.count == 1, case .word(let w) = inner[0], Self.isShortCluster(w) {
                    // `[-46AaCf]`: a cluster of single-letter switches.
                    for c in w.dropFirst() { addOption("-" + String(c), value: nil, required: false) }
                } else if open == "[", let (short, long) = Self.shortLongPair(inner) {
                    // `[-v | --version]`: two spellings of one switch.
                    addOption(long, value: nil, required: false, short: short)
                } else {
                    walk(inner, required: required && open == "(")
                }
                i += 1
                if open == "(", Self.startsWithOption(inner) {
                    // `(-c | -C | --squash) <commit>`: the words after the group are its value.
                    while i < nodes.count, case .word(let v) = nodes[i], !v.hasPrefix("-") { i += 1 }
                }
            case .word(let w):
                if w == "..." || w == "--" || w == "-" {
                    i += 1
                } else if w.hasPrefix("-") {
                    // An option; in a group its value is what follows up to the next `|`, at the
                    // top level only a placeholder-looking word.
                    var value: String?
                    var j = i + 1
                    var parts: [String] = []
                    while j < nodes.count {
                        if case .word(let v) = nodes[j], !v.hasPrefix("-"), v != "...",
                           required ? Self.looksLikePlaceholder(v) : true {
                            parts.append(v)
                            j += 1
                            if required { break }
                        } else if !required, case .group(let open, let inner) = nodes[j], !Self.startsWithOption(inner) {
                            parts.append(Self.render(.group(open: open, inner)))
                            j += 1
                        } else {
                            break
                        }
                    }
                    if !parts.isEmpty { value = parts.joined(separator: " ") }
                    addOption(w, value: value, required: required)
                    i = j
                } else if Self.isChoiceWord(w) {
                    addChoices([.word(String(w.dropFirst().dropLast()))])
                    i += 1
                } else {
                    var name = w
                    if name.hasSuffix("...") { name.removeLast(3) }
                    name = String(name.filter { !"<>[]".contains($0) })
                    if !name.isEmpty, !Self.genericWords.contains(name.lowercased()),
                       !positionals.contains(where: { $0.name == name }) {
                        positionals.append(Positional(name: name, required: required))
                    }
                    i += 1
                }
            }
        }
    }

    private mutating func addOption(_ word: String, value: String?, required: Bool, short: String? = nil) {
        var spelling = word
        var valueName = value
        if let open = spelling.firstIndex(of: "[") {
            // `--exec-path[=<path>]`: optional attached value.
            var inner = String(spelling[spelling.index(after: open)...].dropLast())
            if inner.hasPrefix("=") { inner.removeFirst() }
            valueName = "[=" + inner + "]"
            spelling = String(spelling[..<open])
        } else if let eq = spelling.firstIndex(of: "=") {
            valueName = String(spelling[spelling.index(after: eq)...])
            spelling = String(spelling[..<eq])
        }
        var repeatable = false
        if spelling.hasSuffix("...") { spelling.removeLast(3); repeatable = true }
        if valueName?.hasSuffix("...") == true { valueName?.removeLast(3); repeatable = true }
        guard spelling.count >= 2, spelling.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "?" }),
              spelling.dropFirst().first.map({ $0 != "-" || spelling.count > 2 }) == true else { return }
        if required { requiredSpellings.insert(spelling) }
        let isLong = spelling.hasPrefix("--") || spelling.count > 2
        if options.contains(where: { $0.long == spelling || $0.short == spelling }) { return }
        options.append(Option(
            long: isLong ? spelling : nil, short: isLong ? short : spelling, valueName: valueName,
            kind: OptionTraits.kind(valueName: valueName, description: ""),
            required: required && valueName != nil, repeatable: repeatable, summary: ""))
    }

    private mutating func addChoices(_ inner: [Node]) {
        for node in inner {
            guard case .word(let w) = node else { continue }
            for name in w.split(separator: ",") where !name.isEmpty {
                let n = String(name)
                if !choices.contains(n) { choices.append(n) }
            }
        }
    }

    // MARK: Word shapes

    private static func isPathWord(_ w: String) -> Bool {
        guard let first = w.first, first.isLowercase, first.isASCII else { return false }
        return w.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "_" }
            && !genericWords.contains(w)
    }

    private static func isShortCluster(_ w: String) -> Bool {
        w.count > 2 && w.hasPrefix("-") && !w.hasPrefix("--") && w.dropFirst().allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    private static func isChoiceWord(_ w: String) -> Bool {
        w.hasPrefix("{") && w.hasSuffix("}") && w.contains(",")
    }

    private static func looksLikePlaceholder(_ w: String) -> Bool {
        if w.hasPrefix("<") || w.hasPrefix("{") { return true }
        let letters = w.filter { $0.isLetter }
        return !letters.isEmpty && letters.allSatisfy { $0.isUppercase }
    }

    /// `-v | --version` (exactly a short and a long spelling, no values) -> ("-v", "--version").
    private static func shortLongPair(_ nodes: [Node]) -> (String, String)? {
        guard nodes.count == 3, case .word(let a) = nodes[0], case .pipe = nodes[1], case .word(let b) = nodes[2] else { return nil }
        func isShort(_ w: String) -> Bool { w.count == 2 && w.hasPrefix("-") && w.last != "-" }
        func isLong(_ w: String) -> Bool { w.hasPrefix("--") && w.count > 2 && !w.contains("=") && !w.contains("[") }
        if isShort(a), isLong(b) { return (a, b) }
        if isShort(b), isLong(a) { return (b, a) }
        return nil
    }

    private static func startsWithOption(_ nodes: [Node]) -> Bool {
        if case .word(let w)? = nodes.first { return w.hasPrefix("-") && w.count > 1 }
        return false
    }

    private static func render(_ node: Node) -> String {
        switch node {
        case .word(let w): return w
        case .pipe: return "|"
        case .group(let open, let inner):
            let closer = open == "[" ? "]" : open == "(" ? ")" : "}"
            return String(open) + inner.map(render).joined(separator: " ") + closer
        }
    }
}
