@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// **Account** (SPEC §9): every staff member changes their password (the current one required;
/// their other sessions end), sees where they are signed in, signs the others out, and gets new
/// recovery codes.
@Suite struct AccountTests {
    static let newPassword = "cedar-window-gently-58"

    @Test func changingThePasswordNeedsTheCurrentOneAndEndsTheOtherSessions() async throws {
        try await withCaseTalk { app, clock in
            let mailer = RecordingMailer()
            app.caseTalk.mailer = mailer
            let world = try await CaseWorld.make(app)
            let here = Browser(app), elsewhere = Browser(app)
            try await here.signIn("ben@riverside.example")
            clock.advance(by: 31)
            try await elsewhere.signIn("ben@riverside.example")
            let page = try await here.get("/account").body.string
            #expect(page.contains("<h1>Account</h1>") && page.contains("Current password") && page.contains("data-password-rules"))
            #expect(page.components(separatedBy: "<tr><td data-label=\"Signed in\">").count - 1 == 2, "two sessions listed")
            #expect(page.components(separatedBy: "This browser").count - 1 == 1)
            #expect(try await here.get("/cases").body.string.contains("href=\"/account\">Account</a>"))

            let wrong = try await here.post("/account/password", [("current", "not it at all"), ("password", Self.newPassword),
                                                                  ("confirmation", Self.newPassword)])
            #expect(wrong.status == .unauthorized && wrong.body.string.contains("Your current password is not right."))
            let weak = try await here.post("/account/password", [("current", Fixtures.password), ("password", "password1234"),
                                                                 ("confirmation", "password1234")])
            #expect(weak.status == .unprocessableEntity && weak.body.string.contains("too common"))
            #expect(try await elsewhere.get("/cases").status == .ok, "nothing changed yet")

            let changed = try await here.post("/account/password", [("current", Fixtures.password), ("password", Self.newPassword),
                                                                    ("confirmation", Self.newPassword)])
            #expect(changed.location == "/account?done=password")
            #expect(try await here.get("/account?done=password").body.string.contains("Your password was changed"))
            #expect(try await elsewhere.get("/cases").location?.hasPrefix("/login") == true, "the other session ended")
            #expect(try await Browser(app).signInPasswordOnly("ben@riverside.example").status == .unauthorized, "the old password is refused")
            clock.advance(by: 31)
            #expect(try await Browser(app).signIn("ben@riverside.example", password: Self.newPassword).location == "/cases")
            try await Fixtures(app: app).deliver()
            #expect(mailer.sent.contains { $0.to == "ben@riverside.example" && $0.subject == "Your CaseTalk password was changed" })
            let audited = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.passwordChanged.rawValue).all()
            #expect(audited.map(\.subject) == ["staff:\(world.ben)"])
        }
    }

    @Test func wrongCurrentPasswordsCountTowardTheLockWhichEndsTheSession() async throws {
        try await withCaseTalk { app, _ in
            let world = try await CaseWorld.make(app)
            let ben = Browser(app)
            try await ben.signIn("ben@riverside.example")
            try await ben.get("/account")
            var last: TestingHTTPResponse?
            for _ in 0..<5 {
                last = try await ben.post("/account/password", [("current", "guess"), ("password", Self.newPassword), ("confirmation", Self.newPassword)])
            }
            #expect(last?.location?.hasPrefix("/login") == true)
            #expect(try await ben.get("/cases").location?.hasPrefix("/login") == true)
            let account = try #require(try await StaffUser.find(world.ben, on: app.db))
            #expect(account.lockedUntil != nil)
            #expect(try await Browser(app).signInPasswordOnly("ben@riverside.example").status == .unauthorized, "locked")
        }
    }

    @Test func signingOutTheOtherSessionsAndNewRecoveryCodes() async throws {
        try await withCaseTalk { app, clock in
            let world = try await CaseWorld.make(app)
            let here = Browser(app), elsewhere = Browser(app)
            try await here.signIn("ben@riverside.example")
            clock.advance(by: 31)
            try await elsewhere.signIn("ben@riverside.example")
            try await here.get("/account")
            #expect(try await here.post("/account/sessions/sign-out-others", []).location == "/account?done=signed-out")
            #expect(try await elsewhere.get("/cases").location?.hasPrefix("/login") == true)
            #expect(try await here.get("/cases").status == .ok)
            #expect(try await here.get("/account").body.string.contains("You are signed in nowhere else."))

            let page = try await here.post("/account/recovery-codes", [])
            #expect(page.status == .ok)
            let codes = page.body.string.components(separatedBy: "<li><code>").dropFirst().map { String($0.prefix { $0 != "<" }) }
            #expect(codes.count == RecoveryCodes.count)
            let other = Browser(app)
            #expect(try await other.signInPasswordOnly("ben@riverside.example").location == "/login/two-step")
            #expect(try await other.submit("/login/two-step", [("recovery_code", codes[0])]).location == "/cases")
            #expect(try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.recoveryCodesReplaced.rawValue).count() == 1)
            // Patients and visitors have no Account page.
            let visitor = Browser(app)
            #expect(try await visitor.get("/account").location?.hasPrefix("/login") == true)
            _ = world
        }
    }
}
