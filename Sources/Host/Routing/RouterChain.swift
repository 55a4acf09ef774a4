/// Which router plugins form the chain, from the configuration.
///
/// The chain comes from `--router ID` (repeatable, in order), else the servers file's top-level
/// `"routers": [...]`, else the default: `mcph.namespace` when it is loaded, else the first
/// router loaded, else none (the built-in `server__name` rule). A listed router that is not
/// loaded, or one listed twice, is an error naming it: the host does not start with a chain other
/// than the one configured (a missing filter would show everything).
public enum RouterChain {
    public static let defaultID = "mcph.namespace"

    public struct SelectionError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The chain for `requested` ids (nil or empty: the default), given where they came from
    /// (`--router`, or the servers file) for the error message.
    public static func select(_ requested: [String]?, from loaded: [RouterPlugin], source: String) -> Result<[RouterPlugin], SelectionError> {
        guard let requested, !requested.isEmpty else {
            let chosen = loaded.first { $0.plugin.info.id == defaultID } ?? loaded.first
            return .success(chosen.map { [$0] } ?? [])
        }
        var seen = Set<String>()
        for id in requested where !seen.insert(id).inserted {
            return .failure(SelectionError(description: "\(source): router '\(id)' is listed twice; list each router once, in chain order"))
        }
        let missing = requested.filter { id in !loaded.contains { $0.plugin.info.id == id } }
        guard missing.isEmpty else {
            let available = loaded.map(\.plugin.info.id)
            return .failure(SelectionError(description:
                "\(source): router plugin\(missing.count == 1 ? "" : "s") '\(missing.joined(separator: "', '"))' \(missing.count == 1 ? "is" : "are") not loaded"
                + " (loaded routers: \(available.isEmpty ? "none" : available.joined(separator: ", "))); `mcp-host plugins` lists the loaded plugins and why any was rejected"))
        }
        return .success(requested.compactMap { id in loaded.first { $0.plugin.info.id == id } })
    }
}
