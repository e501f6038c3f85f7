@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// **Invite Staff** (SPEC §9): an emailed link, 72 hours, once, stored as a hash and replaced on
/// resend, to **Set password** (the patients' policy) and **Set up two-step verification**, then
/// signed in; Resend (also to a corrected address) and Cancel invitation; the practice's own
/// admins only.
@Suite struct StaffInvitationTests {
    static let password = "harbor-lantern-quietly-27"

    struct World {
        let app: Application
        let world: CaseWorld
        let ada: Browser
        let mailer: RecordingMailer
        let clock: TestClock

        static func make(_ app: Application, _ clock: TestClock) async throws -> World {
            let mailer = RecordingMailer()
            app.caseTalk.mailer = mailer
            let world = try await CaseWorld.make(app)
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            return World(app: app, world: world, ada: ada, mailer: mailer, clock: clock)
        }

        @discardableResult
        func invite(_ email: String = "hana@riverside.example", name: String = "Hana Kim", role: String = "staff", admin: Bool = false)
            async throws -> TestingHTTPResponse {
            try await ada.get("/practice")
            return try await ada.post("/practice/invitations", [("email", email), ("name", name), ("role", role)] + (admin ? [("admin", "1")] : []))
        }

        /// The newest join link's token sent to `address`.
        func token(to address: String) async throws -> String {
            try await Fixtures(app: app).deliver()
            let sent = mailer.sent.filter { $0.to == address }
            let text = try #require(sent.last?.text)
            let range = try #require(text.range(of: "/join/[A-Za-z0-9_-]{43}", options: .regularExpression))
            return String(text[range].dropFirst("/join/".count))
        }

        func invitation(_ email: String) async throws -> StaffInvitationsTable.Pending? {
            let riverside = try #require(try await StaffUser.find(world.ada, on: app.db)).$practice.id
            return try await StaffInvitationsTable.pending(ofPractice: riverside, on: app.db).first { $0.email == email }
        }

        func audited(_ action: AuditAction) async throws -> [String] {
            try await AuditEntry.query(on: app.db).filter(\.$action == action.rawValue).all().map(\.subject)
        }
    }

    @Test func anInvitedColleagueSetsAPasswordAndTwoStepVerificationThenIsSignedIn() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            #expect(try await w.invite(admin: true).location == "/practice?done=invited")
            let page = try await w.ada.get("/practice?done=invited").body.string
            #expect(page.contains("The invitation was sent") && page.contains("Hana Kim") && page.contains(">Invited<"))
            let token = try await w.token(to: "hana@riverside.example")
            let email = try #require(w.mailer.sent.last)
            #expect(email.subject == "Riverside Dental invited you to join CaseTalk" && email.text.contains("72 hours"))
            #expect(email.text.contains("Dr. Ada Park"))
            // Kept as a hash only.
            struct Row: Decodable { let token_hash: String? }
            let stored = try await app.db.sql.raw("SELECT token_hash FROM staff_invitations").all(decoding: Row.self)
            #expect(stored.map(\.token_hash) == [Digest.sha256Hex(token)])

            let hana = Browser(app)
            let form = try await hana.get("/join/\(token)")
            #expect(form.status == .ok && form.body.string.contains("<h1 id=\"step-heading\">Set password</h1>"))
            #expect(form.body.string.contains("hana@riverside.example") && form.body.string.contains("data-password-rules"))
            let weak = try await hana.post("/join/\(token)", [("password", "password1234"), ("confirmation", "password1234")])
            #expect(weak.status == .unprocessableEntity && weak.body.string.contains("too common"))
            let mismatch = try await hana.post("/join/\(token)", [("password", Self.password), ("confirmation", Self.password + "x")])
            #expect(mismatch.status == .unprocessableEntity && mismatch.body.string.contains("do not match"))
            #expect(try await StaffUser.query(on: app.db).filter(\.$email == "hana@riverside.example").count() == 0)

            let set = try await hana.post("/join/\(token)", [("password", Self.password), ("confirmation", Self.password)])
            #expect(set.location == "/two-step/setup")
            #expect(try await hana.get("/cases").location?.hasPrefix("/login") == true, "nothing opens before two-step verification")
            let setup = try await hana.get("/two-step/setup").body.string
            let shown = try #require(Browser.firstMatch(in: setup, after: "id=\"totp-key\">").map { String($0.prefix { $0 != "<" }) })
            let key = try #require(Base32.decode(shown))
            let done = try await hana.submit("/two-step/setup", [("code", TOTP.code(key: key, step: TOTP.step(at: clock.now)))])
            #expect(done.status == .ok)
            #expect(try await hana.get("/cases").status == .ok, "signed in")
            let account = try #require(try await StaffUser.query(on: app.db).filter(\.$email == "hana@riverside.example").first())
            let riverside = try #require(try await StaffUser.find(w.world.ada, on: app.db)).$practice.id
            #expect(account.$practice.id == riverside && account.name == "Hana Kim" && account.role == .staff && account.isAdmin)
            #expect(try await hana.get("/practice").status == .ok, "invited as an admin")

            // The link worked once.
            let again = Browser(app)
            let used = try await again.get("/join/\(token)")
            #expect(used.status == .notFound && used.body.string.contains("This invitation link does not work"))
            try await again.get("/login")
            #expect(try await again.post("/join/\(token)", [("password", Self.password), ("confirmation", Self.password)]).status == .notFound)
            #expect(try await StaffUser.query(on: app.db).filter(\.$email == "hana@riverside.example").count() == 1)
            #expect(try await w.invitation("hana@riverside.example") == nil, "no longer pending")
            #expect(try await w.audited(.staffInvited).count == 1)
            #expect(try await w.audited(.staffInvitationAccepted).count == 1)
            // Her password signs her in from now on, with her new second step.
            #expect(try await Browser(app).signInPasswordOnly("hana@riverside.example", password: Self.password).location == "/login/two-step")
        }
    }

    @Test func aResendReplacesTheLinkAndCanCorrectTheAddressACancelEndsItAndSeventyTwoHoursEndIt() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            try await w.invite("hana@riverside.exmaple")
            let first = try await w.token(to: "hana@riverside.exmaple")
            let id = try #require(try await w.invitation("hana@riverside.exmaple")).id
            try await w.ada.get("/practice")
            #expect(try await w.ada.post("/practice/invitations/\(id)/resend", [("email", "not an address")]).status == .badRequest)
            #expect(try await w.ada.post("/practice/invitations/\(id)/resend", [("email", "hana@riverside.example")]).location
                    == "/practice?done=resent")
            let second = try await w.token(to: "hana@riverside.example")
            #expect(first != second)
            #expect(try await Browser(app).get("/join/\(first)").status == .notFound, "the earlier link stopped")
            #expect(try await Browser(app).get("/join/\(second)").status == .ok)
            #expect(try await w.audited(.staffInvitationResent) == ["staff-invitation:\(id) address-corrected"])

            // 72 hours later the link is dead and the list says so; a resend brings a new one.
            clock.advance(by: 72 * 3600 + 1)
            #expect(try await Browser(app).get("/join/\(second)").status == .notFound)
            try await w.ada.signIn("ada@riverside.example")
            #expect(try await w.ada.get("/practice").body.string.contains("Invitation expired"))
            #expect(try await w.ada.post("/practice/invitations/\(id)/resend", [("email", "")]).location == "/practice?done=resent")
            let third = try await w.token(to: "hana@riverside.example")
            #expect(try await Browser(app).get("/join/\(third)").status == .ok)

            #expect(try await w.ada.post("/practice/invitations/\(id)/cancel", []).location == "/practice?done=cancelled")
            #expect(try await Browser(app).get("/join/\(third)").status == .notFound)
            #expect(try await w.invitation("hana@riverside.example") == nil)
            #expect(try await w.ada.post("/practice/invitations/\(id)/cancel", []).status == .notFound, "once")
            #expect(try await w.audited(.staffInvitationCancelled) == ["staff-invitation:\(id)"])
        }
    }

    @Test func onlyThePracticesAdminsInviteAndBadInputInvitesNobody() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            try await w.invite()
            let id = try #require(try await w.invitation("hana@riverside.example")).id
            let northside = try #require(try await StaffUser.find(w.world.cy, on: app.db)).$practice.id
            try await Fixtures(app: app).staff("eve@northside.example", name: "Dr. Eve Lind", practice: northside, admin: true)
            let eve = Browser(app)
            try await eve.signIn("eve@northside.example")
            try await eve.get("/practice")
            #expect(try await eve.post("/practice/invitations/\(id)/resend", [("email", "eve-spy@northside.example")]).status == .notFound)
            #expect(try await eve.post("/practice/invitations/\(id)/cancel", []).status == .notFound)
            #expect(!(try await eve.get("/practice").body.string.contains("Hana Kim")))
            let ben = Browser(app)
            try await ben.signIn("ben@riverside.example")
            try await ben.get("/cases")
            #expect(try await ben.post("/practice/invitations", [("email", "x@riverside.example"), ("name", "X"), ("role", "staff")]).status
                    == .notFound)
            #expect(try await ben.post("/practice/invitations/\(id)/cancel", []).status == .notFound)
            let visitor = Browser(app)
            try await visitor.get("/login")
            #expect(try await visitor.post("/practice/invitations", [("email", "x@riverside.example"), ("name", "X"), ("role", "staff")])
                .location?.hasPrefix("/login") == true)
            #expect(try await w.ada.post("/practice/invitations", [("email", "y@riverside.example"), ("name", "Y"), ("role", "staff")],
                                         csrf: "forged").status == .forbidden)
            #expect(try await w.invitation("hana@riverside.example") != nil, "still pending")

            // Bad or taken addresses, names and roles: a clear message, nothing stored or sent.
            let cases: [(String, String, String, String)] = [
                ("not-an-address", "Noor", "staff", "Enter a valid email address"),
                ("noor@riverside.example", "", "staff", "Enter the name."),
                ("noor@riverside.example", "<script>alert(1)</script>", "owner", "Choose Doctor or Staff."),
                ("noor@riverside.example", String(repeating: "n", count: 5000), "staff", "name"),
                ("ben@riverside.example", "Ben Again", "doctor", "An account already uses this email address."),
                ("hana@riverside.example", "Hana Kim", "staff", "has been invited already"),
            ]
            for (email, name, role, message) in cases {
                let answer = try await w.invite(email, name: name, role: role)
                #expect(answer.status == .badRequest && answer.body.string.contains(message), "\(email) \(name.prefix(10))")
                #expect(!answer.body.string.contains("<script>alert"))
            }
            try await Fixtures(app: app).deliver()
            #expect(w.mailer.sent.filter { $0.to != "hana@riverside.example" }.isEmpty, "nothing sent for the refused ones")
            struct Count: Decodable { let n: Int }
            let rows = try await app.db.sql.raw("SELECT CAST(COUNT(*) AS INTEGER) AS n FROM staff_invitations").first(decoding: Count.self)
            #expect(rows?.n == 1)
            // Link shapes that are not tokens: the same page, never an error.
            for token in ["x", String(repeating: "a", count: 5000), "%00", SecureRandom.token()] {
                #expect(try await Browser(app).get("/join/\(token)").status == .notFound)
            }
        }
    }
}
