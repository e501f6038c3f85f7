@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Small limits, so that a test reaches them in a few requests.
private let small = RateLimitPolicy([
    (.signIn, .account, .init(limit: 3, window: 600)),
    (.signIn, .address, .init(limit: 5, window: 600)),
    (.messageSend, .account, .init(limit: 2, window: 60)),
    (.invitation, .account, .init(limit: 2, window: 3600)),
    (.passwordReset, .address, .init(limit: 2, window: 3600)),
    (.codeSend, .account, .init(limit: 1, window: 3600)),
    (.codeCheck, .account, .init(limit: 2, window: 600)),
])

@Suite struct RateLimitTests {
    @Test func signInIsLimitedPerAccountAndPerAddressWithRetryAfter() async throws {
        try await withCaseTalk(adjust: { $0.rateLimits = small }) { app, clock in
            try await Fixtures(app: app).ada()
            let browser = Browser(app)
            for _ in 0..<3 { #expect(try await browser.signIn("ada@example.com", password: "wrong wrong wrong").status == .unauthorized) }
            let limited = try await browser.signIn("ada@example.com")
            #expect(limited.status == .tooManyRequests, "the right password is refused too while limited")
            let retry = try #require(limited.headers.first(name: .retryAfter).flatMap(Int.init))
            #expect(retry > 0 && retry <= 600)
            #expect(limited.body.string.contains(RateLimits.message))

            // Another account from the same address: the address has had 4, so one more, then 429.
            #expect(try await Browser(app).signIn("nobody@example.com", password: "x").status == .unauthorized)
            #expect(try await Browser(app).signIn("someone@example.com", password: "x").status == .tooManyRequests)

            // The counters hold hashes only: no address or account name.
            struct Row: Decodable { let bucket: String }
            let buckets = try await app.db.sql.select().column("bucket").from("rate_limits").all(decoding: Row.self).map(\.bucket)
            #expect(!buckets.isEmpty && buckets.allSatisfy { !$0.contains("@") && !$0.contains("unknown") && !$0.contains("127.") })

            clock.advance(by: 600)
            #expect(try await Browser(app).signIn("ada@example.com").location == "/cases", "a new window starts again")
        }
    }

    @Test func everyLimitedActionAnswers429AndChangesNothing() async throws {
        try await withCaseTalk(adjust: { $0.rateLimits = small }) { app, clock in
            let t = try await TalkWorld.make(app, clock)
            // Two messages, then the third is refused and not stored.
            try await t.write("one", as: t.ben)
            try await t.write("two", as: t.ben)
            let third = try await t.write("three", as: t.ben)
            #expect(third.status == .tooManyRequests && third.headers.first(name: .retryAfter) != nil)
            #expect(try await Message.query(on: app.db).count() == 2)

            // Invitation changes by Cy (none in TalkWorld's setup): the third is refused before it is
            // looked at (the first two answer that the patient has registered already).
            let cy = t.cy
            try await cy.get("/cases/\(t.caseID)/talk")
            for _ in 0..<2 { #expect(try await cy.post("/cases/\(t.caseID)/invitation/resend", []).status == .conflict) }
            let resent = try await cy.post("/cases/\(t.caseID)/invitation/resend", [])
            #expect(resent.status == .tooManyRequests && resent.headers.first(name: .retryAfter) != nil)

            // Password reset requests per address.
            let visitor = Browser(app)
            try await visitor.get("/password/forgot")
            for _ in 0..<2 { #expect(try await visitor.post("/password/forgot", [("email", "pat@example.com")]).status == .seeOther) }
            let resets = try await PasswordReset.query(on: app.db).count()
            #expect(try await visitor.post("/password/forgot", [("email", "pat@example.com")]).status == .tooManyRequests)
            #expect(try await PasswordReset.query(on: app.db).count() == resets)
        }
    }

    @Test func codeSendsAndChecksAreLimitedPerRegistration() async throws {
        try await withCaseTalk(adjust: { $0.rateLimits = small }) { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones()
            #expect(try await w.sendCode().location == "/register/code")
            clock.advance(by: 31)
            let second = try await w.resend()
            #expect(second.status == .tooManyRequests && w.phones.count == 1, "not sent")
            let code = try #require(w.phones.lastCode)
            for _ in 0..<2 { try await w.enter(CodeWorld.wrong(than: code)) }
            #expect(try await w.enter(code).status == .tooManyRequests, "checked no more for now, even the right code")
            #expect(try await w.registration()?.verifiedAt == nil)
        }
    }

    /// Two servers on one database count against the same limits.
    @Test func limitsAreSharedByServersOnOneDatabase() async throws {
        try await withTwoServers(adjust: { $0.rateLimits = small }) { app, other, _ in
            try await Fixtures(app: app).ada()
            for (n, server) in [app, other, app].enumerated() {
                #expect(try await Browser(server).signIn("ada@example.com", password: "wrong wrong wrong").status == .unauthorized, "\(n)")
            }
            #expect(try await Browser(other).signIn("ada@example.com").status == .tooManyRequests)
        }
    }
}
