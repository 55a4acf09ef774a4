import Testing
@testable import Host

@Suite struct HTTPLogicTests {
    @Test func parsesListenAddresses() {
        #expect(HTTPOptions.parseAddress("127.0.0.1:7332")! == ("127.0.0.1", 7332))
        #expect(HTTPOptions.parseAddress(":8080")! == ("127.0.0.1", 8080))
        #expect(HTTPOptions.parseAddress("localhost")! == ("localhost", 7332))
        #expect(HTTPOptions.parseAddress("[::1]:9000")! == ("::1", 9000))
        #expect(HTTPOptions.parseAddress("host:port") == nil)
        #expect(HTTPOptions.parseAddress("a:1:2") == nil)
        #expect(HTTPOptions.parseAddress("1.2.3.4:70000") == nil)
        #expect(HTTPOptions.isLoopback("127.0.0.1") && HTTPOptions.isLoopback("::1") && HTTPOptions.isLoopback("localhost"))
        #expect(!HTTPOptions.isLoopback("0.0.0.0") && !HTTPOptions.isLoopback("10.0.0.1"))
        #expect(HTTPOptions.isLoopback("127.1.2.3"))
        #expect(!HTTPOptions.isLoopback("127.0.0.1.evil.example") && !HTTPOptions.isLoopback("127.0.0.256") && !HTTPOptions.isLoopback("127.0.0.+1"))
    }

    @Test func allowsOnlyLoopbackAndConfiguredOrigins() {
        var options = HTTPOptions()
        options.allowedOrigins = ["https://app.example"]
        let security = HTTPSecurity(options: options)
        for origin in ["http://localhost:5173", "http://127.0.0.1", "http://[::1]:8080", "https://app.example"] {
            #expect(security.allows(origin: origin), "\(origin)")
        }
        for origin in ["https://evil.example", "http://localhost.evil.example", "null", "https://app.example:8443", "http://127.0.0.1.evil.example"] {
            #expect(!security.allows(origin: origin), "\(origin)")
        }
    }

    @Test func checksBearerTokens() {
        var options = HTTPOptions()
        #expect(HTTPSecurity(options: options).authorized(nil), "no tokens configured: open")
        options.bearerTokens = ["alpha", "beta-token"]
        let security = HTTPSecurity(options: options)
        #expect(security.authorized("Bearer alpha"))
        #expect(security.authorized("Bearer beta-token"))
        #expect(!security.authorized("Bearer alph"))
        #expect(!security.authorized("Bearer alphaa"))
        #expect(!security.authorized("Basic alpha"))
        #expect(!security.authorized("Bearer alpha" + String(repeating: "\u{0}", count: 256)), "lengths differing by 256 are still different")
        #expect(!security.authorized(nil))
    }

    @Test func framesServerSentEvents() {
        #expect(SSE.event([]) == Array(": ping\n\n".utf8))
        #expect(String(decoding: SSE.event(Array("{\"a\":\n1}".utf8)), as: UTF8.self) == "event: message\ndata: {\"a\": 1}\n\n")
    }

    @Test func messageQueueIsBoundedAndRemembersWhenItWentOver() async {
        let queue = MessageQueue(limit: 2)
        for i in 0..<3 { #expect(queue.push([UInt8(i)], now: 100)) }
        #expect(queue.overSince == 100, "over the limit since the third message")
        for i in 3..<8 { #expect(queue.push([UInt8(i)], now: 200)) }
        #expect(!queue.push([9], now: 300), "past four times the limit new messages are refused")
        #expect(await queue.next() == [0])
        for _ in 1..<7 { _ = await queue.next() }
        #expect(queue.overSince == nil, "back under the limit")
        queue.close()
        #expect(await queue.next() == [7], "what was queued is still delivered")
        #expect(await queue.next() == nil)
        #expect(!queue.push([1]))
    }
}
