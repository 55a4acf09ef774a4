/// MCP protocol revisions the host speaks toward clients, newest first.
public enum ProtocolVersions {
    public static let supported = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    public static let latest = supported[0]

    /// The version to answer a client's `initialize` with: its own if supported, else the latest.
    public static func negotiate(_ requested: String?) -> String {
        guard let requested, supported.contains(requested) else { return latest }
        return requested
    }
}
