@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

@Suite struct SignInTests {
    @Test func signInIssuesANewSessionIdAndTheOldOneStopsWorking() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            try await fx.ada()
            let browser = Browser(app)
            try await browser.get("/login")
            #expect(browser.sessionCookie == nil && browser.visitorCookie != nil, "a visitor has a form cookie, not a session")

            let password = try await browser.post("/login", [("email", "ada@example.com"), ("password", Fixtures.password)])
            #expect(password.status == .seeOther)
            #expect(password.location == "/login/two-step")
            let halfwayCookie = try #require(browser.sessionCookie)
            #expect(try await browser.get("/cases").location?.hasPrefix("/login") == true, "the password alone opens nothing")
            let response = try await browser.secondStep(after: password, email: "ada@example.com")
            #expect(response.location == "/cases")
            let staffCookie = try #require(browser.sessionCookie)
            #expect(staffCookie != halfwayCookie, "a new session id after the second step")
            #expect(try await browser.get("/cases").status == .ok)
            let halfway = Browser(app)
            halfway.useCookie(halfwayCookie)
            #expect(try await halfway.get("/cases").location?.hasPrefix("/login") == true)
        }
    }

    @Test func cookieIsHttpOnlyLaxAndSecureOnlyForHttps() async throws {
        try await withCaseTalk { app, _ in
            let plain = try await Browser(app).get("/login").headers[.setCookie].joined()
            #expect(plain.contains("HttpOnly"))
            #expect(plain.contains("SameSite=Lax"))
            #expect(!plain.contains("Secure"))

            app.caseTalk.config.publicBaseURL = URL(string: "https://portal.example")!
            let secure = try await Browser(app).get("/login").headers[.setCookie].joined()
            #expect(secure.contains("Secure"))
            // Review L3: on https the names carry __Host- (Secure, Path=/, no Domain).
            #expect(secure.hasPrefix("__Host-casetalk_form=") && secure.contains("Path=/") && !secure.contains("Domain"))
            let browser = Browser(app)
            try await Fixtures(app: app).ada()
            try await browser.signIn("ada@example.com")
            #expect(browser.sessionCookie != nil && app.caseTalk.cookies.session == "__Host-casetalk_session")
            #expect(try await browser.get("/cases").status == .ok, "the prefixed cookie is the one read")
        }
    }

    @Test func signOutEndsTheSessionOnTheServer() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            let browser = try await fx.signedInAda()
            let cookie = try #require(browser.sessionCookie)
            try await browser.get("/cases")
            #expect(try await browser.post("/logout", []).location == "/login")

            let replay = Browser(app)
            replay.useCookie(cookie)
            #expect(try await replay.get("/cases").status == .seeOther)
            #expect(try await SessionRecord.query(on: app.db).filter(\.$principalKind == "staff").count() == 0)
        }
    }

    @Test func sessionsEndAfterFifteenIdleMinutesAndTwelveHours() async throws {
        try await withCaseTalk { app, clock in
            let fx = Fixtures(app: app)
            let browser = try await fx.signedInAda()

            clock.advance(by: 14 * 60)
            #expect(try await browser.get("/cases").status == .ok, "14 idle minutes are fine")
            clock.advance(by: 15 * 60)
            #expect(try await browser.get("/cases").status == .seeOther, "15 idle minutes end it")

            try await browser.signIn("ada@example.com")
            for _ in 0..<(12 * 6 - 1) {  // active every 10 minutes for just under 12 hours
                clock.advance(by: 10 * 60)
                #expect(try await browser.get("/cases").status == .ok)
            }
            clock.advance(by: 10 * 60)
            #expect(try await browser.get("/cases").status == .seeOther, "12 hours end it however active")
        }
    }

    @Test func expiredSessionsAreSweptAndLiveOnesKept() async throws {
        try await withCaseTalk { app, clock in
            let fx = Fixtures(app: app)
            try await fx.ada()
            for _ in 0..<3 { try await Browser(app).get("/login") }   // visitors who leave
            let staying = Browser(app)
            try await staying.signIn("ada@example.com")
            clock.advance(by: 10 * 60)
            try await staying.get("/cases")
            clock.advance(by: 6 * 60)   // the visitors are 16 minutes idle, Ada 6
            try await SessionHousekeeping.sweepExpired(on: app.db, now: clock.now)
            #expect(try await SessionRecord.query(on: app.db).count() == 1)
            #expect(try await staying.get("/cases").status == .ok)
        }
    }

    @Test func unknownEmailAndWrongPasswordLookTheSame() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            try await fx.ada()
            let wrong = try await Browser(app).signIn("ada@example.com", password: "not-the-password")
            let unknown = try await Browser(app).signIn("nobody@example.com", password: "not-the-password")
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == wrong.status)
            for response in [wrong, unknown] {
                #expect(response.body.string.contains(SignInController.failureMessage))
            }
            let strip = { (html: String) in html.replacingOccurrences(of: "ada@example.com", with: "")
                .replacingOccurrences(of: "nobody@example.com", with: "")
                .replacingOccurrences(of: #"value="[A-Za-z0-9_-]{43}""#, with: "", options: .regularExpression) }
            #expect(strip(wrong.body.string) == strip(unknown.body.string))
        }
    }

    @Test func fiveFailuresLockTheAccountForFifteenMinutes() async throws {
        try await withCaseTalk { app, clock in
            let fx = Fixtures(app: app)
            let id = try await fx.ada()
            let browser = Browser(app)
            for _ in 0..<4 { try await browser.signIn("ada@example.com", password: "wrong-password-1") }
            #expect(try await StaffUser.find(id, on: app.db)?.lockedUntil == nil, "four failures do not lock")
            try await browser.signIn("ada@example.com", password: "wrong-password-1")
            #expect(try await StaffUser.find(id, on: app.db)?.lockedUntil != nil)

            let whileLocked = try await browser.signIn("ada@example.com")
            #expect(whileLocked.status == .unauthorized, "the right password is refused while locked")
            #expect(whileLocked.body.string.contains(SignInController.failureMessage))

            clock.advance(by: 14 * 60 + 59)
            #expect(try await browser.signIn("ada@example.com").status == .unauthorized)
            clock.advance(by: 2)
            #expect(try await browser.signIn("ada@example.com").status == .seeOther, "the lock lifts after 15 minutes")
            let user = try #require(try await StaffUser.find(id, on: app.db))
            #expect(user.failedLogins == 0)
            #expect(user.lockedUntil == nil)

            let actions = try await AuditEntry.query(on: app.db).all().map(\.action)
            #expect(actions.filter { $0 == AuditAction.accountLocked.rawValue }.count == 1)
            #expect(actions.contains(AuditAction.signInSucceeded.rawValue))
        }
    }

    @Test func aSuccessResetsTheCountOfFailures() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            let id = try await fx.ada()
            for _ in 0..<4 { try await Browser(app).signIn("ada@example.com", password: "wrong-password-1") }
            try await Browser(app).signIn("ada@example.com")
            for _ in 0..<4 { try await Browser(app).signIn("ada@example.com", password: "wrong-password-1") }
            #expect(try await StaffUser.find(id, on: app.db)?.lockedUntil == nil, "failures must be consecutive")
        }
    }

    @Test(arguments: ["//evil.example/", "https://evil.example/", "/\\evil.example", "/%2F%2Fevil.example"])
    func afterSignInOnlyOwnPaths(next: String) async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            try await fx.ada()
            let browser = Browser(app)
            try await browser.get("/login")
            let password = try await browser.post("/login", [("email", "ada@example.com"), ("password", Fixtures.password), ("next", next)])
            #expect(password.location == "/login/two-step")
            #expect(try await browser.secondStep(after: password, email: "ada@example.com").location == "/cases")
        }
    }

    @Test func rememberedPageIsUsedAfterSignIn() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            try await fx.ada()
            let browser = Browser(app)
            let bounce = try await browser.get("/cases/new")
            #expect(bounce.location == "/login?next=/cases/new")
            try await browser.get("/login?next=/cases/new")
            let password = try await browser.post("/login", [("email", "ada@example.com"), ("password", Fixtures.password), ("next", "/cases/new")])
            #expect(password.location == "/login/two-step?next=/cases/new")
            #expect(try await browser.secondStep(after: password, email: "ada@example.com").location == "/cases/new")
        }
    }
}

@Suite struct IdleWarningTests {
    /// "Stay signed in" keeps a session alive past the idle limit; without it the session ends.
    @Test func stayingSignedInIsOneRequestAndOnlyForSignedInPeople() async throws {
        try await withCaseTalk { app, clock in
            let fx = Fixtures(app: app)
            let ada = try await fx.signedInAda()
            let page = try await ada.get("/cases")
            #expect(page.body.string.contains("data-idle-warning=\"840\""), "the page warns a minute before 15 minutes")
            clock.advance(by: 14 * 60)
            #expect(try await ada.get("/session/alive").status == .noContent)
            clock.advance(by: 14 * 60)
            #expect(try await ada.get("/cases").status == .ok, "still signed in 28 minutes after the page loaded")
            clock.advance(by: 15 * 60 + 1)
            #expect(try await ada.get("/session/alive").status == .unauthorized)
            #expect(try await ada.get("/cases").location?.hasPrefix("/login") == true)
            #expect(try await Browser(app).get("/session/alive").status == .unauthorized)
            #expect(!(try await Browser(app).get("/login").body.string.contains("data-idle-warning")), "no warning when signed out")
        }
    }
}

/// Review M7: the queue of password hashes is bounded; over it, 503 with Retry-After and nothing done.
@Suite struct HashQueueTests {
    @Test func hashesOverTheLimitAreRefusedAtOnce() async throws {
        let service = try PasswordService(parameters: .standard, threads: 1, queueLimit: 2)
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for n in 0..<6 {
                group.addTask {
                    do { _ = try await service.hash("password number \(n)"); return true } catch let error as PublicError {
                        #expect(error.status == .serviceUnavailable && error.retryAfter == 5)
                        return false
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 2, "two hashed, four refused while they ran")
        #expect(try await service.hash("afterwards") .hasPrefix("$scrypt$"), "the places are given back")
        try await service.shutdown()
    }

    @Test func aSignInOverTheLimitIsAnswered503AndCountsNothing() async throws {
        try await withCaseTalk { app, _ in
            let id = try await Fixtures(app: app).ada()
            let standard = app.caseTalk.passwords
            app.caseTalk.passwords = try PasswordService(parameters: .testing, threads: 1, queueLimit: 0)
            try await standard.shutdown()
            let before = try await AuditEntry.query(on: app.db).count()
            let answer = try await Browser(app).signInPasswordOnly("ada@example.com", password: "wrong-password-1")
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.headers.first(name: .retryAfter) == "5")
            #expect(answer.body.string.contains("CaseTalk is very busy"))
            #expect(try await StaffUser.find(id, on: app.db)?.failedLogins == 0, "not counted as a failure")
            #expect(try await AuditEntry.query(on: app.db).count() == before)
        }
    }
}
