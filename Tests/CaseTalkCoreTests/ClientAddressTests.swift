import CaseTalkCore
import Testing

@Suite struct ClientAddressTests {
    @Test func addressesAndRanges() throws {
        #expect(IPAddress("192.0.2.7")?.bytes == [192, 0, 2, 7])
        #expect(IPAddress("::ffff:192.0.2.7") == IPAddress("192.0.2.7"), "a mapped IPv4 address is that address")
        #expect(IPAddress("2001:db8::1")?.bytes.count == 16)
        #expect(IPAddress("::1")?.bytes == Array(repeating: 0, count: 15) + [1])
        for bad in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01234.1.1.1", "2001:db8::1::2", "12345::", "x", "", " ", "1.2.3.4/8"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
        let tenSlash8 = try #require(IPRange("10.0.0.0/8"))
        #expect(tenSlash8.contains(IPAddress("10.200.3.4")!) && !tenSlash8.contains(IPAddress("11.0.0.1")!))
        #expect(!tenSlash8.contains(IPAddress("::1")!), "families do not mix")
        let v6 = try #require(IPRange("fd00::/8"))
        #expect(v6.contains(IPAddress("fd12:3456::1")!) && !v6.contains(IPAddress("fe80::1")!))
        #expect(IPRange("192.0.2.7")?.contains(IPAddress("192.0.2.7")!) == true)
        #expect(IPRange("192.0.2.7")?.contains(IPAddress("192.0.2.8")!) == false)
        #expect(IPRange("10.0.0.0/33") == nil && IPRange("10.0.0.0/") == nil && IPRange("10.0.0.0/x") == nil)
    }

    @Test func theRightMostUntrustedHopIsTheClientAndOnlyBehindATrustedProxy() throws {
        let proxies = try TrustedProxies.parse("10.0.0.0/8, 192.0.2.10").get()
        // From the balancer: the right-most address it did not add itself.
        #expect(proxies.client(peer: "10.1.2.3", forwardedFor: ["203.0.113.9"]) == "203.0.113.9")
        #expect(proxies.client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1, 203.0.113.9, 192.0.2.10"]) == "203.0.113.9",
                "an address the client wrote in front is not believed")
        #expect(proxies.client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1", "203.0.113.9"]) == "203.0.113.9")
        // From anyone else the header is ignored.
        #expect(proxies.client(peer: "203.0.113.50", forwardedFor: ["198.51.100.1"]) == "203.0.113.50")
        #expect(TrustedProxies(ranges: []).client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1"]) == "10.1.2.3")
        // Nonsense after a trusted hop stops the walk at the balancer.
        #expect(proxies.client(peer: "10.1.2.3", forwardedFor: ["<script>"]) == "10.1.2.3")
        #expect(proxies.client(peer: "::ffff:10.1.2.3", forwardedFor: ["203.0.113.9"]) == "203.0.113.9")
        #expect(TrustedProxies.parse("10.0.0.0/8, nonsense") == .failure(.init(entry: "nonsense")))
    }
}

@Suite struct EnvironmentRuleTests {
    @Test func onlyThreeEnvironmentNames() {
        for name in EnvironmentRule.names { #expect(EnvironmentRule.refusal(ofName: name) == nil) }
        for name in ["staging", "prod-eu", "Production ", ""] {
            #expect(EnvironmentRule.refusal(ofName: name)?.contains("production, development or testing") == true, "\(name)")
        }
    }

    @Test func withoutEnvServeStaysOnLoopback() {
        #expect(EnvironmentRule.refusal(ofArguments: ["serve"]) == nil)
        #expect(EnvironmentRule.refusal(ofArguments: []) == nil)
        #expect(EnvironmentRule.refusal(ofArguments: ["serve", "--hostname", "127.0.0.1", "--port", "8080"]) == nil)
        #expect(EnvironmentRule.refusal(ofArguments: ["serve", "-H", "::1"]) == nil)
        #expect(EnvironmentRule.refusal(ofArguments: ["serve", "--bind", "localhost:8080"]) == nil)
        for open in [["serve", "--hostname", "0.0.0.0"], ["serve", "-H", "10.0.0.5"], ["serve", "--bind", "0.0.0.0:80"],
                     ["serve", "--hostname=192.0.2.1"], ["serve", "--hostname", "127.example.com"], ["serve", "-b", "[::]:8080"]] {
            #expect(EnvironmentRule.refusal(ofArguments: open)?.contains("--env production") == true, "\(open)")
        }
        #expect(EnvironmentRule.refusal(ofArguments: ["serve", "--env", "production", "--hostname", "0.0.0.0"]) == nil)
        #expect(EnvironmentRule.refusal(ofArguments: ["migrate"]) == nil, "only serve listens")
    }
}

@Suite struct ProductionTransportTests {
    @Test func aRemoteDatabaseNeedsTLSThatCannotBeDowngraded() {
        #expect(ProductionTransport.databaseRefusal("postgres://u:p@db.internal/casetalk") != nil, "prefer by default")
        #expect(ProductionTransport.databaseRefusal("postgres://u:p@db.internal/casetalk?sslmode=prefer") != nil)
        #expect(ProductionTransport.databaseRefusal("postgres://u:p@db.internal/casetalk?sslmode=disable") != nil)
        #expect(ProductionTransport.databaseRefusal("postgres://u:p@db.internal/casetalk?sslmode=verify-full") == nil)
        #expect(ProductionTransport.databaseRefusal("postgres://u:p@db.internal/casetalk?tlsmode=require") == nil)
        #expect(ProductionTransport.databaseRefusal("postgres://u:p@127.0.0.1:5432/casetalk") == nil, "the same machine")
        #expect(ProductionTransport.databaseRefusal("postgres://u:p@127.db.example/casetalk") != nil, "not loopback by its name")
    }

    @Test func theTwilioAPIOnlyOverHTTPS() {
        #expect(ProductionTransport.twilioRefusal("https://api.twilio.com") == nil)
        #expect(ProductionTransport.twilioRefusal("http://api.twilio.com") != nil)
        #expect(ProductionTransport.twilioRefusal("http://127.0.0.1:9999") == nil, "a stand-in on this machine")
        #expect(ProductionTransport.twilioRefusal("ftp://x") != nil && ProductionTransport.twilioRefusal("nonsense") != nil)
    }
}
