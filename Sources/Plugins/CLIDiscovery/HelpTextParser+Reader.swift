extension HelpTextParser {
    enum Section {
        case preamble, usage, options, commands, arguments, skip, other
    }

    /// The line-by-line state of one parse.
    struct Reader {
        private struct OptionDraft {
            var line: OptionLine
            var description: [String]
        }
        private struct CommandDraft {
            var name: String
            var summary: [String]
        }
        private struct PositionalDraft {
            var name: String
            var summary: [String]
        }
        private enum Entry {
            case option(Int), command(Int), positional(Int)
        }
        /// The entry the next deeper-indented line continues.
        private struct Last {
            var entry: Entry
            var indent: Int
            var descriptionColumn: Int?
        }

        private var section: Section = .preamble
        private var options: [OptionDraft] = []
        private var commands: [CommandDraft] = []
        private var positionals: [PositionalDraft] = []
        private var choices: [String] = []
        private var choiceIndent: Int?
        private var last: Last?
        private var afterBlank = false

        private var usageForms: [String] = []
        private var usageText: [String] = []
        private var usageOpen = false

        private var paragraph: [String] = []
        private var summary: String?
        private var sawEntry = false

        // MARK: Lines

        mutating func consume(_ line: HelpLine) {
            if line.text.isEmpty {
                flushParagraph(discard: false)
                if usageOpen {
                    usageOpen = false
                    section = .other
                }
                afterBlank = true
                return
            }
            defer { afterBlank = false }

            if line.indent == 0, OptionLine.parse(line.raw)?.description == nil, heading(line) {
                return
            }
            if section == .usage, usageOpen {
                if let option = OptionLine.parse(line.raw), option.description != nil {
                    usageOpen = false
                    section = .other
                } else {
                    addUsageLine(line.text, indent: line.indent)
                    return
                }
            }
            if section == .skip {
                flushParagraph(discard: true)
                return
            }
            if entry(line) {
                flushParagraph(discard: true)
                sawEntry = true
                return
            }
            // Prose.
            last = nil
            if section == .preamble || section == .other {
                paragraph.append(line.text)
            }
        }

        /// Handles a column-0 line that is a heading (or column-0 prose, which also ends a list).
        private mutating func heading(_ line: HelpLine) -> Bool {
            let text = line.text
            let lower = text.lowercased()
            last = nil
            choiceIndent = nil
            if lower.hasPrefix("usage of "), lower.hasSuffix(":") {
                // Go's flag package: "Usage of tool:" heads the option list itself.
                flushParagraph(discard: false)
                usageOpen = false
                section = .options
                return true
            }
            if lower.hasPrefix("usage:") || lower == "usage" {
                flushParagraph(discard: false)
                section = .usage
                usageOpen = true
                if lower.hasPrefix("usage:") {
                    let rest = String(text.dropFirst(6)).trimmingSpaces()
                    if !rest.isEmpty { addUsageLine(rest, indent: 0) }
                }
                return true
            }
            usageOpen = false
            let words = text.split(separator: " ").count
            let isTitle = text.hasSuffix(":") && words <= 6
            let isCapsTitle = words <= 4 && text.contains { $0.isLetter } && text.allSatisfy { !$0.isLetter || $0.isUppercase }
            if isTitle || isCapsTitle {
                flushParagraph(discard: false)
                section = Self.kind(ofHeading: lower)
                return true
            }
            // Column-0 prose: a short line naming options heads an options list (git's "Commit
            // message options"); anything else is prose in an unnamed section (git's command groups).
            if words <= 6, lower.contains("options") || lower.contains("flags") {
                flushParagraph(discard: false)
                section = .options
                return true
            }
            section = .other
            return false
        }

        private static func kind(ofHeading lower: String) -> Section {
            let skipped = ["alias", "example", "environment", "see also", "note", "discussion", "description",
                           "author", "bug", "report", "exit status", "learn more", "feedback", "copyright",
                           "license", "more information", "help topics", "additional help"]
            if skipped.contains(where: { lower.contains($0) }) { return .skip }
            if lower.contains("positional") { return .arguments }
            if lower.contains("option") || lower.contains("flag") { return .options }
            if lower.contains("command") { return .commands }
            if lower.contains("argument") || lower.hasPrefix("args") { return .arguments }
            return .other
        }

        // MARK: Entries

        /// Reads `line` as an entry or a continuation; false when it is prose.
        private mutating func entry(_ line: HelpLine) -> Bool {
            // argparse's subcommand list under `{a,b,c}`.
            if let choiceIndent, line.indent > choiceIndent, let (name, summary, column) = Self.commandEntry(line, strict: false),
               choices.contains(name) {
                addCommand(name, summary: summary, indent: line.indent, column: column)
                return true
            }
            // A new option (unless the line sits in the description column of the entry above).
            if section != .commands, let option = OptionLine.parse(line.raw) {
                let inDescription = last.map { last in
                    last.descriptionColumn.map { line.indent >= $0 } ?? false
                } ?? false
                if !inDescription {
                    if options.count < HelpTextParser.maxEntries {
                        options.append(OptionDraft(line: option, description: option.description.map { [$0] } ?? []))
                        last = Last(entry: .option(options.count - 1), indent: option.indent, descriptionColumn: option.descriptionColumn)
                    }
                    return true
                }
            }
            // The wrapped description of the entry above.
            if let current = last, line.indent > current.indent,
               !afterBlank || line.indent >= (current.descriptionColumn ?? current.indent + 1) {
                appendDescription(line.text)
                if last?.descriptionColumn == nil { last?.descriptionColumn = line.indent }
                return true
            }
            switch section {
            case .commands:
                if let (name, summary, column) = Self.commandEntry(line, strict: false) {
                    addCommand(name, summary: summary, indent: line.indent, column: column)
                    return true
                }
            case .arguments:
                if line.text.hasPrefix("{"), let close = line.text.firstIndex(of: "}") {
                    let inner = line.text[line.text.index(after: line.text.startIndex)..<close]
                    for name in inner.split(separator: ",") where !choices.contains(String(name)) {
                        choices.append(String(name))
                    }
                    choiceIndent = line.indent
                    last = nil
                    return true
                }
                if let (name, summary, column) = Self.positionalEntry(line) {
                    if positionals.count < HelpTextParser.maxEntries {
                        positionals.append(PositionalDraft(name: name, summary: summary.isEmpty ? [] : [summary]))
                        last = Last(entry: .positional(positionals.count - 1), indent: line.indent, descriptionColumn: column)
                    }
                    return true
                }
            case .other, .preamble:
                if line.indent >= 2, let (name, summary, column) = Self.commandEntry(line, strict: true) {
                    addCommand(name, summary: summary, indent: line.indent, column: column)
                    return true
                }
            case .options, .usage, .skip:
                break
            }
            return false
        }

        private mutating func addCommand(_ name: String, summary: String, indent: Int, column: Int?) {
            if let index = commands.firstIndex(where: { $0.name == name }) {
                last = Last(entry: .command(index), indent: indent, descriptionColumn: column)
                return
            }
            guard commands.count < HelpTextParser.maxEntries else { return }
            commands.append(CommandDraft(name: name, summary: summary.isEmpty ? [] : [summary]))
            last = Last(entry: .command(commands.count - 1), indent: indent, descriptionColumn: column)
        }

        private mutating func appendDescription(_ text: String) {
            guard let last else { return }
            switch last.entry {
            case .option(let i): if options[i].description.count < 64 { options[i].description.append(text) }
            case .command(let i): if commands[i].summary.count < 16 { commands[i].summary.append(text) }
            case .positional(let i): if positionals[i].summary.count < 16 { positionals[i].summary.append(text) }
            }
        }

        // MARK: Usage

        private mutating func addUsageLine(_ text: String, indent: Int) {
            if usageText.count < HelpTextParser.maxUsageLines { usageText.append(text) }
            var body = text
            let lower = body.lowercased()
            let full = usageForms.count >= HelpTextParser.maxUsageLines
            if lower.hasPrefix("or:") {
                body = String(body.dropFirst(3)).trimmingSpaces()
                if !full { usageForms.append(body) }
                return
            }
            if let first = usageForms.first?.split(separator: " ").first,
               body.split(separator: " ").first == first {
                if !full { usageForms.append(body) }
                return
            }
            if usageForms.isEmpty {
                usageForms.append(body)
            } else {
                usageForms[usageForms.count - 1] += " " + body
            }
        }

        // MARK: Summary

        private mutating func flushParagraph(discard: Bool) {
            defer { paragraph.removeAll() }
            guard !discard, summary == nil, !sawEntry, !paragraph.isEmpty else { return }
            let text = paragraph.joined(separator: " ")
            let lower = text.lowercased()
            if text.hasSuffix(":") { return }
            let errorWords = ["unknown option", "unrecognized", "error:", "invalid option", "illegal option",
                              "unknown flag", "unknown command", "not found"]
            if errorWords.contains(where: { lower.contains($0) }) { return }
            if Self.isVersionLine(paragraph[0]) { return }
            summary = Self.firstSentence(text)
        }

        // MARK: The page

        mutating func finish() -> HelpPage? {
            flushParagraph(discard: false)
            let usage = usageForms.first.map(UsageLine.init)

            var page = HelpPage()
            page.usage = usageText.isEmpty ? nil : usageText.joined(separator: "\n")
            page.summary = summary

            var seen: Set<String> = []
            for draft in options {
                let description = draft.description.joined(separator: " ").split(separator: " ").joined(separator: " ")
                let option = Self.option(from: draft.line, description: description,
                                         requiredSpellings: usage?.requiredSpellings ?? [])
                guard let key = option.long ?? option.short, seen.insert(key).inserted else { continue }
                page.options.append(option)
            }
            if page.options.isEmpty, let usage {
                page.options = usage.options
            }

            var names = Set<String>()
            for command in commands where command.name != "help" && names.insert(command.name).inserted {
                page.subcommands.append(Subcommand(name: command.name, summary: command.summary.joined(separator: " ")))
            }
            for name in choices + (usage?.choices ?? []) + usageSubcommands(first: usage) where name != "help" && names.insert(name).inserted {
                page.subcommands.append(Subcommand(name: name, summary: ""))
            }

            if !positionals.isEmpty {
                for draft in positionals {
                    guard let positional = Self.positional(draft.name, summary: draft.summary.joined(separator: " "), usage: usage),
                          !names.contains(positional.name) else { continue }
                    page.positionals.append(positional)
                }
            } else if let usage {
                page.positionals = usage.positionals.filter { !names.contains($0.name) }
            }

            if page.usage == nil, page.options.isEmpty, page.subcommands.isEmpty, page.positionals.isEmpty {
                return nil
            }
            return page
        }

        /// Subcommands named by further usage forms that extend the first one by one word
        /// (`git remote -h`: "or: git remote add ...", "or: git remote rename ...").
        private func usageSubcommands(first: UsageLine?) -> [String] {
            guard let first, let program = first.program else { return [] }
            return usageForms.dropFirst().compactMap { form in
                let usage = UsageLine(form)
                guard usage.program == program, usage.path.count == first.path.count + 1,
                      Array(usage.path.prefix(first.path.count)) == first.path else { return nil }
                return usage.path.last
            }
        }
    }
}
