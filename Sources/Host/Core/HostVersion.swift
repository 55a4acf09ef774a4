/// The host's version, reported in `serverInfo`, `clientInfo` and `mcp-host --version`.
public enum HostVersion {
    public static let string = "0.1.0"
}
