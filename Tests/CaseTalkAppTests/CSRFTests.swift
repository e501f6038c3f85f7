@testable import CaseTalkApp
import Fluent
import Testing
import VaporTesting

@Suite struct CSRFTests {
    let newCase = [("first_name", "Ana"), ("last_name", "Silva"), ("title", "Crown")]

    @Test func statefulFormsNeedTheSessionsToken() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            let browser = try await fx.signedInAda()
            try await browser.get("/cases/new")

            let missing = try await browser.post("/cases", newCase, csrf: .some(nil))
            #expect(missing.status == .forbidden)
            #expect(missing.body.string.contains("This form has expired"))
            #expect(try await browser.post("/cases", newCase, csrf: "forged-token-forged-token-forged-token-abc").status == .forbidden)

            let other = Browser(app)
            try await other.get("/login")
            #expect(try await browser.post("/cases", newCase, csrf: other.csrf).status == .forbidden, "another session's token")
            #expect(try await fx.count(PatientCase.self) == 0, "nothing changed on rejection")

            #expect(try await browser.post("/cases", newCase).status == .seeOther)
            #expect(try await fx.count(PatientCase.self) == 1)
        }
    }

    @Test func signInAndSignOutNeedTheTokenToo() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            try await fx.ada()
            let browser = Browser(app)
            try await browser.get("/login")
            let forged = try await browser.post("/login", [("email", "ada@example.com"), ("password", Fixtures.password)], csrf: .some(nil))
            #expect(forged.status == .forbidden)

            try await browser.signIn("ada@example.com")
            #expect(try await browser.post("/logout", [], csrf: .some(nil)).status == .forbidden)
            #expect(try await browser.get("/cases").status == .ok, "still signed in")
        }
    }

    @Test func aTokenFromBeforeSignInDiesWithTheVisitorSession() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            try await fx.ada()
            let browser = Browser(app)
            try await browser.get("/login")
            let visitorToken = browser.csrf
            try await browser.post("/login", [("email", "ada@example.com"), ("password", Fixtures.password)])
            #expect(try await browser.post("/cases", newCase, csrf: visitorToken).status == .forbidden)
        }
    }
}
