/// Standard JSON-RPC error codes, and the host's own in the implementation-defined range.
public enum JSONRPCErrorCode {
    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    /// A backend is unavailable: it failed to start, exited, or is backing off.
    public static let backendUnavailable = -32000
    /// The request's deadline passed before the backend answered.
    public static let requestTimeout = -32001
    /// The request was cancelled because its session ended or the host is shutting down.
    public static let requestCancelled = -32002
    /// A queue toward a backend was full.
    public static let overloaded = -32003
}

/// Builders for the few messages the host writes itself.
public enum JSONRPC {
    static let null: [UInt8] = Array("null".utf8)

    /// `{"jsonrpc":"2.0","id":ID,"result":RESULT}` with `id` and `result` as raw JSON.
    public static func result(id: some Collection<UInt8>, result: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        out.reserveCapacity(out.count + id.count + result.count + 12)
        out.append(contentsOf: id)
        out.append(contentsOf: #","result":"#.utf8)
        out.append(contentsOf: result)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `{"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M}}`; a nil id is written as `null`.
    public static func error(id: [UInt8]?, code: Int, message: String, data: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        out.append(contentsOf: id ?? null)
        out.append(contentsOf: #","error":{"code":"#.utf8)
        out.append(contentsOf: String(code).utf8)
        out.append(contentsOf: #","message":"#.utf8)
        out.append(contentsOf: JSONString.encode(message))
        if let data {
            out.append(contentsOf: #","data":"#.utf8)
            out.append(contentsOf: data)
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }

    /// `{"jsonrpc":"2.0","id":ID,"method":M,"params":P}` with raw `id` and `params`.
    public static func request(id: some Collection<UInt8>, method: String, params: [UInt8]?) -> [UInt8] {
        var out: [UInt8] = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        out.append(contentsOf: id)
        out.append(contentsOf: #","method":"#.utf8)
        out.append(contentsOf: JSONString.encode(method))
        if let params {
            out.append(contentsOf: #","params":"#.utf8)
            out.append(contentsOf: params)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `{"jsonrpc":"2.0","method":M,"params":P}` with raw `params`.
    public static func notification(method: String, params: [UInt8]?) -> [UInt8] {
        var out: [UInt8] = Array(#"{"jsonrpc":"2.0","method":"#.utf8)
        out.append(contentsOf: JSONString.encode(method))
        if let params {
            out.append(contentsOf: #","params":"#.utf8)
            out.append(contentsOf: params)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
