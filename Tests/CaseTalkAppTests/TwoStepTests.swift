@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Two factors for everyone (SPEC §5, §9; issue 15, H3 of the security review).
@Suite struct StaffTwoStepTests {
    /// Dr. Ada with two-step verification set up, and her key.
    static func ada(_ app: Application) async throws -> (id: UUID, key: [UInt8]) {
        let id = try await Fixtures(app: app).ada()
        return (id, try await TwoStepSupport.key(app, email: "ada@example.com").key)
    }

    /// The password, then `code` on the Two-step verification page: the second answer.
    static func signIn(_ app: Application, code: String? = nil, recoveryCode: String? = nil,
                       browser: Browser? = nil) async throws -> TestingHTTPResponse {
        let browser = browser ?? Browser(app)
        let password = try await browser.signInPasswordOnly("ada@example.com")
        #expect(password.location == "/login/two-step")
        if let recoveryCode { return try await browser.submit("/login/two-step", [("recovery_code", recoveryCode)]) }
        return try await browser.submit("/login/two-step", [("code", code ?? "")])
    }

    @Test func aUsedCodeIsRefusedAgainAndCountsAsAFailure() async throws {
        try await withCaseTalk { app, clock in
            let (id, key) = try await Self.ada(app)
            let code = TOTP.code(key: key, step: TOTP.step(at: clock.now))
            #expect(try await Self.signIn(app, code: code).location == "/cases")
            let replay = try await Self.signIn(app, code: code)
            #expect(replay.status == .unauthorized)
            #expect(replay.body.string.contains(TwoStepController.wrongCode))
            #expect(try await StaffUser.find(id, on: app.db)?.failedLogins == 1)
            // An older code is refused too, even inside the drift.
            #expect(try await Self.signIn(app, code: TOTP.code(key: key, step: TOTP.step(at: clock.now) - 1)).status == .unauthorized)
        }
    }

    @Test func parallelAnswersWithOneCodeAdmitOne() async throws {
        try await withCaseTalk { app, clock in
            let (_, key) = try await Self.ada(app)
            var halfway: [(cookie: String?, csrf: String?)] = []
            for _ in 0..<10 {
                let browser = Browser(app)
                try await browser.signInPasswordOnly("ada@example.com")
                try await browser.get("/login/two-step")
                halfway.append((browser.sessionCookie, browser.csrf))
            }
            let code = TOTP.code(key: key, step: TOTP.step(at: clock.now))
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (cookie, csrf) in halfway {
                    group.addTask {
                        let browser = Browser(app)
                        browser.useCookie(cookie)
                        return try await browser.post("/login/two-step", [("code", code)], csrf: csrf).location == "/cases"
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == 1)
        }
    }

    @Test func oneStepOfDriftEitherWayAndNoMore() async throws {
        try await withCaseTalk { app, clock in
            let (_, key) = try await Self.ada(app)
            let now = TOTP.step(at: clock.now)
            #expect(try await Self.signIn(app, code: TOTP.code(key: key, step: now - 2)).status == .unauthorized, "a minute old")
            #expect(try await Self.signIn(app, code: TOTP.code(key: key, step: now + 2)).status == .unauthorized, "a minute ahead")
            #expect(try await Self.signIn(app, code: TOTP.code(key: key, step: now - 1)).location == "/cases", "30 s behind")
            #expect(try await Self.signIn(app, code: TOTP.code(key: key, step: now + 1)).location == "/cases", "30 s ahead")
        }
    }

    @Test func wrongCodesCountWithWrongPasswordsTowardOneLock() async throws {
        try await withCaseTalk { app, clock in
            let (id, key) = try await Self.ada(app)
            for _ in 0..<2 { try await Browser(app).signInPasswordOnly("ada@example.com", password: "not-the-password") }
            for attempt in 0..<3 {
                let answer = try await Self.signIn(app, code: "000000")
                #expect(answer.status == .unauthorized)
                if attempt == 2 {
                    #expect(answer.body.string.contains(SignInController.failureMessage), "the locked sign-in starts again")
                }
            }
            #expect(try await StaffUser.find(id, on: app.db)?.lockedUntil != nil, "2 passwords + 3 codes = 5 in a row")
            // The right password and the right code are both refused while locked.
            let locked = try await Browser(app).signInPasswordOnly("ada@example.com")
            #expect(locked.status == .unauthorized && locked.body.string.contains(SignInController.failureMessage))
            clock.advance(by: SignInLockout.lockDuration + 1)
            #expect(try await Self.signIn(app, code: TOTP.code(key: key, step: TOTP.step(at: clock.now))).location == "/cases")
            #expect(try await StaffUser.find(id, on: app.db)?.failedLogins == 0, "only the second step clears the count")
        }
    }

    @Test func thePasswordAloneClearsNothingAndOpensNothing() async throws {
        try await withCaseTalk { app, clock in
            let (id, _) = try await Self.ada(app)
            try await Browser(app).signInPasswordOnly("ada@example.com", password: "not-the-password")
            let halfway = Browser(app)
            #expect(try await halfway.signInPasswordOnly("ada@example.com").location == "/login/two-step")
            #expect(try await StaffUser.find(id, on: app.db)?.failedLogins == 1, "a right password alone does not reset the count")
            for path in ["/cases", "/cases/new", "/portal", "/inbox"] {
                #expect(try await halfway.get(path).location?.hasPrefix("/login") == true, "\(path)")
            }
            // The second step waits 10 minutes at most.
            clock.advance(by: PendingSignIn.lifetime + 1)
            #expect(try await halfway.get("/login/two-step").location == "/login")
        }
    }

    @Test func setUpFromTheQRCodesKeyThenRecoveryCodesWorkOnceEach() async throws {
        try await withCaseTalk { app, clock in
            let fx = Fixtures(app: app)
            let id = try await fx.staff("cy@example.com", name: "Dr. Cy", practice: try await fx.practice(), twoStep: false)
            let browser = Browser(app)
            let password = try await browser.signInPasswordOnly("cy@example.com")
            #expect(password.location == "/two-step/setup", "an account without a second factor is taken to set it up")
            #expect(try await browser.get("/cases").location?.hasPrefix("/login") == true, "and can open nothing else")
            let page = try await browser.get("/two-step/setup").body.string
            #expect(page.contains("<svg") && page.contains("<path d=\"M4 4h1v1h-1z"), "the QR code is drawn by the server")
            let shown = try #require(Browser.firstMatch(in: page, after: "id=\"totp-key\">").map { String($0.prefix { $0 != "<" }) })
            let key = try #require(Base32.decode(shown))
            #expect(key.count == TOTP.keyLength)
            #expect(try await browser.get("/two-step/setup").body.string.contains(shown), "the same key until it is confirmed")

            #expect(try await browser.submit("/two-step/setup", [("code", "123456")]).status == .unprocessableEntity)
            let done = try await browser.submit("/two-step/setup", [("code", TOTP.code(key: key, step: TOTP.step(at: clock.now)))])
            #expect(done.status == .ok)
            let html = done.body.string
            let codes = html.components(separatedBy: "<li><code>").dropFirst().map { String($0.prefix { $0 != "<" }) }
            #expect(codes.count == RecoveryCodes.count)
            #expect(try await browser.get("/cases").status == .ok, "signed in after the set-up")

            // Stored as hashes only.
            struct Row: Decodable { let code_hash: String }
            let stored = try await app.db.sql.raw("SELECT code_hash FROM recovery_codes WHERE staff_id = \(bind: id)").all(decoding: Row.self)
            #expect(stored.count == RecoveryCodes.count)
            #expect(Set(stored.map(\.code_hash)) == Set(codes.compactMap(RecoveryCodes.hash)))
            let staff = try #require(try await StaffUser.find(id, on: app.db))
            #expect(staff.totpKey != nil && !(staff.totpKey!.contains(shown.replacingOccurrences(of: " ", with: ""))), "the key is sealed")

            // A recovery code signs in once, in any spelling; then it is used up.
            let other = Browser(app)
            #expect(try await other.signInPasswordOnly("cy@example.com").location == "/login/two-step")
            #expect(try await other.get("/login/two-step?recovery=1").body.string.contains("Recovery code"))
            #expect(try await other.submit("/login/two-step", [("recovery_code", codes[0].uppercased())]).location == "/cases")
            let again = Browser(app)
            try await again.signInPasswordOnly("cy@example.com")
            let reused = try await again.submit("/login/two-step", [("recovery_code", codes[0])])
            #expect(reused.status == .unauthorized && reused.body.string.contains(TwoStepController.wrongRecoveryCode))
            #expect(try await again.submit("/login/two-step", [("recovery_code", codes[1])]).location == "/cases")
        }
    }

    @Test func theDevelopmentMailboxShowsTheDemoCodeThatWorksNow() async throws {
        try await withCaseTalk(adjust: { $0.isDevelopment = true }) { app, clock in
            try await DemoData.seed(on: app.db, services: app.caseTalk, now: clock.now)
            let maya = DemoData.people[0].email
            func shown() async throws -> String? {
                let page = try await Browser(app).get("/dev/mailbox").body.string
                guard let start = page.range(of: "<td data-label=\"Account\">\(maya)</td>") else { return nil }
                return Browser.firstMatch(in: String(page[start.upperBound...]), after: "<code class=\"demo-code\">")
                    .map { String($0.prefix { $0 != "<" }) }
            }
            let first = try #require(try await shown())
            let browser = Browser(app)
            try await browser.signInPasswordOnly(maya, password: DemoData.password)
            #expect(try await browser.submit("/login/two-step", [("code", first)]).location == "/cases")
            #expect(try await shown() != first, "a used code is not shown again")
        }
    }
}

@Suite struct PatientSecondStepTests {
    /// Pat, registered in `w.patient` (a browser now remembered), with the code phones.
    static func registered(_ app: Application, _ clock: TestClock) async throws -> RegistrationWorld {
        let w = try await RegistrationWorld.make(app, clock)
        try await w.verifyAndAccept()
        try await w.setPassword()
        return w
    }

    @Test func aNewBrowserGetsACodeToTheVerifiedPhoneAndTheEmailSaysSo() async throws {
        try await withCaseTalk { app, clock in
            let w = try await Self.registered(app, clock)
            #expect(w.patient.deviceCookie != nil, "the browser that registered is remembered")
            #expect(try await w.patient.signIn("pat@example.com", password: RegistrationWorld.password).location == "/portal")
            try await w.invitations.fx.deliver()
            let sentBefore = w.invitations.mailer.sent.count
            let textsBefore = w.phones.count

            clock.advance(by: CodeLimits.resendInterval)
            let laptop = Browser(app)
            let password = try await laptop.signInPasswordOnly("pat@example.com", password: RegistrationWorld.password)
            #expect(password.location == "/login/verify/method")
            #expect(try await laptop.get("/portal").location?.hasPrefix("/login") == true, "the password alone opens nothing")
            let method = try await laptop.get("/login/verify/method").body.string
            #expect(method.contains("ending in 23") && !method.contains("555-0123"))
            let sent = try await laptop.submit("/login/verify/method", [("route", "sms-mobile")])
            #expect(sent.location == "/login/verify/code")
            #expect(w.phones.count == textsBefore + 1 && w.phones.sends.last?.1 == "+14155550123")
            let page = try await laptop.get("/login/verify/code").body.string
            #expect(page.contains("Remember this browser for 30 days"))
            let code = try #require(w.phones.lastCode)
            #expect(try await laptop.submit("/login/verify/code", [("code", CodeWorld.wrong(than: code))]).status == .unprocessableEntity)
            let before = laptop.sessionCookie
            #expect(try await laptop.submit("/login/verify/code", [("code", code), ("remember", "on")]).location == "/portal")
            #expect(laptop.sessionCookie != before, "a new session id after the code")
            #expect(laptop.deviceCookie != nil)

            try await w.invitations.fx.deliver()
            let emails = w.invitations.mailer.sent.dropFirst(sentBefore)
            #expect(emails.count == 1)
            let email = try #require(emails.first)
            #expect(email.to == "pat@example.com" && email.subject == "New sign-in to your CaseTalk account")
            for secret in ["Crown", "Ana", "Silva", "Riverside", code] { #expect(!email.text.contains(secret) && !email.html.contains(secret)) }

            // Remembered: after signing out, the next sign-in on that browser is the password alone, and no email.
            try await laptop.get("/portal")
            #expect(try await laptop.post("/logout", []).location == "/login")
            let again = try await laptop.signInPasswordOnly("pat@example.com", password: RegistrationWorld.password)
            #expect(again.location == "/portal", "\(again.status) \(again.location ?? "")")
            try await w.invitations.fx.deliver()
            #expect(w.invitations.mailer.sent.count == sentBefore + 1)
        }
    }

    @Test func theDeviceCookieIsBoundToItsAccountAndForgottenByAPasswordChange() async throws {
        try await withCaseTalk { app, clock in
            let w = try await ResetWorld.make(app, clock)
            let remembered = try #require(w.registration.patient.deviceCookie)
            // The cookie names its account: with Pat's cookie, Quinn's password still needs Quinn's code.
            let quinn = Patient(email: "quinn@example.com", name: "Quinn",
                                passwordHash: try await app.caseTalk.passwords.hash(RegistrationWorld.password),
                                mobileNumber: "+14155550188", verifiedNumber: "+14155550188", termsVersion: "2026-11-01",
                                termsAcceptedAt: clock.now, createdAt: clock.now)
            try await quinn.create(on: app.db)
            let withPatsCookie = Browser(app)
            withPatsCookie.useDeviceCookie(remembered)
            #expect(try await withPatsCookie.signInPasswordOnly("quinn@example.com", password: RegistrationWorld.password).location
                    == "/login/verify/method")
            let copied = Browser(app)
            copied.useDeviceCookie(remembered)
            #expect(try await copied.signInPasswordOnly("pat@example.com", password: RegistrationWorld.password).location == "/portal")
            let forged = Browser(app)
            forged.useDeviceCookie(SecureRandom.token())
            #expect(try await forged.signInPasswordOnly("pat@example.com", password: RegistrationWorld.password).location == "/login/verify/method")

            // The password changes (Forgot password?): every remembered browser is forgotten.
            try await w.ask()
            _ = try await w.openLatestLink()
            try await w.sendCode()
            try await w.enter(try #require(w.phones.lastCode))
            #expect(try await w.choose().location == "/login?reset=1")
            let after = Browser(app)
            after.useDeviceCookie(remembered)
            #expect(try await after.signInPasswordOnly("pat@example.com", password: ResetWorld.newPassword).location == "/login/verify/method")
            #expect(try await RememberedBrowsers.recognises(remembered, patientID: try #require(try await w.patient().id), now: clock.now,
                                                            on: app.db) == false)
        }
    }

    @Test func signInCodesKeepTheRegistrationsLimits() async throws {
        try await withCaseTalk { app, clock in
            let w = try await Self.registered(app, clock)
            clock.advance(by: CodeLimits.resendInterval)
            let laptop = Browser(app)
            try await laptop.signInPasswordOnly("pat@example.com", password: RegistrationWorld.password)
            #expect(try await laptop.submit("/login/verify/method", [("route", "sms-mobile")]).location == "/login/verify/code")
            let again = try await laptop.submit("/login/verify/code/resend", [], from: "/login/verify/code")
            #expect(again.status == .tooManyRequests, "30 seconds between sends")
            let code = try #require(w.phones.lastCode)
            for _ in 0..<CodeLimits.triesPerCode {
                try await laptop.submit("/login/verify/code", [("code", CodeWorld.wrong(than: code))])
            }
            let dead = try await laptop.submit("/login/verify/code", [("code", code)])
            #expect(dead.status == .unprocessableEntity, "the code died after 5 wrong tries")
            #expect(try await laptop.get("/portal").location?.hasPrefix("/login") == true)
        }
    }
}
