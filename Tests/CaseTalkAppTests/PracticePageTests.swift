@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// **Practice** (SPEC §9): a practice admin sees their own practice's staff with role, admin
/// mark, status, two-step state and last sign-in; anyone else gets 404 or the sign-in page.
@Suite struct PracticePageTests {
    /// The row of the staff table that names `name`.
    func row(_ page: String, _ name: String) -> String? {
        page.components(separatedBy: "<tr>").first { $0.contains(">\(name)</span>") }
    }

    @Test func anAdminSeesTheirOwnPracticesStaffAndNoOneElseSeesThePage() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let fx = Fixtures(app: app)
            let riverside = try #require(try await StaffUser.find(t.registration.invitations.world.ben, on: app.db)).$practice.id
            _ = try await fx.staff("new@riverside.example", name: "Noor Patel", practice: riverside, role: .staff, twoStep: false)
            // Ben's password is guessed wrong five times: locked.
            let guesser = Browser(app)
            try await guesser.get("/login")
            for _ in 0..<5 { try await guesser.post("/login", [("email", "ben@riverside.example"), ("password", "not his password")]) }

            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            let answer = try await ada.get("/practice")
            #expect(answer.status == .ok)
            let page = answer.body.string
            #expect(page.contains("<h1>Practice</h1>") && page.contains("Riverside"))
            let adaRow = try #require(row(page, "Dr. Ada Park"), "\(page)")
            #expect(adaRow.contains("Practice admin") && adaRow.contains("Doctor") && adaRow.contains(">Active<"))
            #expect(adaRow.contains(">On<") && !adaRow.contains(">Never<"), "her sign-in just now is shown")
            let benRow = try #require(row(page, "Dr. Ben Stone"))
            #expect(benRow.contains(">Locked<") && !benRow.contains("Practice admin"))
            let noorRow = try #require(row(page, "Noor Patel"))
            #expect(noorRow.contains(">Staff<") && noorRow.contains(">Not set up<") && noorRow.contains(">Never<") && noorRow.contains(">Active<"))
            #expect(!page.contains("Dr. Cy Moreau") && !page.contains("cy@northside.example"), "another practice's staff are not listed")
            #expect(!page.contains("pat@example.com") && !page.contains("Pat "), "nor patients")
            #expect(try await ada.get("/cases").body.string.contains("href=\"/practice\">Practice</a>"), "admins find it in the top bar")

            // Not an admin (of this practice or another), a patient, a visitor.
            let cy = try await t.cy.get("/practice")
            #expect(cy.status == .notFound && !cy.body.string.contains("Dr. Ada Park"))
            #expect(!(try await t.cy.get("/cases").body.string.contains("href=\"/practice\"")), "no link for others")
            let pat = try await t.pat.get("/practice")
            #expect(pat.status != .ok && !pat.body.string.contains("Dr. Ada Park"))
            let visitor = try await Browser(app).get("/practice")
            #expect(visitor.location?.hasPrefix("/login") == true)

            // An admin of the other practice sees that practice only.
            let northside = try #require(try await StaffUser.find(t.registration.invitations.world.cy, on: app.db)).$practice.id
            _ = try await fx.staff("eve@northside.example", name: "Dr. Eve Lind", practice: northside, admin: true)
            let eve = Browser(app)
            try await eve.signIn("eve@northside.example")
            let theirs = try await eve.get("/practice").body.string
            #expect(theirs.contains("Dr. Cy Moreau") && theirs.contains("Dr. Eve Lind"))
            #expect(!theirs.contains("Dr. Ada Park") && !theirs.contains("Dr. Ben Stone") && !theirs.contains("Noor Patel"))
        }
    }

    @Test func anAdminUnlocksAColleagueOfTheirOwnPracticeOnly() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let world = t.registration.invitations.world
            let ben = world.ben.uuidString
            let guesser = Browser(app)
            try await guesser.get("/login")
            for _ in 0..<5 { try await guesser.post("/login", [("email", "ben@riverside.example"), ("password", "not his password")]) }
            func locked() async throws -> Bool {
                try #require(try await StaffUser.find(world.ben, on: app.db)).lockedUntil.map { $0 > clock.now } ?? false
            }
            #expect(try await locked())
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            let page = try await ada.get("/practice").body.string
            #expect(page.contains("action=\"/practice/staff/\(ben)/unlock\"") && page.contains("aria-label=\"Unlock Dr. Ben Stone\""))
            #expect(!page.contains("aria-label=\"Unlock Dr. Ada Park\""), "only a locked account offers Unlock")

            // Another practice's admin, a member who is not an admin, a visitor: nothing changes.
            let northside = try #require(try await StaffUser.find(world.cy, on: app.db)).$practice.id
            _ = try await Fixtures(app: app).staff("eve@northside.example", name: "Dr. Eve Lind", practice: northside, admin: true)
            let eve = Browser(app)
            try await eve.signIn("eve@northside.example")
            try await eve.get("/practice")
            #expect(try await eve.post("/practice/staff/\(ben)/unlock", []).status == .notFound)
            try await t.cy.get("/cases")
            #expect(try await t.cy.post("/practice/staff/\(ben)/unlock", []).status == .notFound)
            let visitor = Browser(app)
            try await visitor.get("/login")
            #expect(try await visitor.post("/practice/staff/\(ben)/unlock", []).location?.hasPrefix("/login") == true)
            #expect(try await ada.post("/practice/staff/\(UUID())/unlock", []).status == .notFound)
            #expect(try await ada.post("/practice/staff/\(ben)/unlock", [], csrf: "forged").status == .forbidden)
            #expect(try await locked(), "still locked")

            let answer = try await ada.post("/practice/staff/\(ben)/unlock", [])
            #expect(answer.location == "/practice?done=unlocked")
            #expect(try await ada.get("/practice?done=unlocked").body.string.contains("The account was unlocked"))
            #expect(try await !locked())
            #expect(try await Browser(app).signIn("ben@riverside.example").location != "/login", "Ben signs in again")
            let audited = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.staffUnlocked.rawValue).all()
            #expect(audited.count == 1 && audited.first?.subject == "staff:\(ben)")
            // Not locked any more: nothing to do, nothing audited.
            #expect(try await ada.post("/practice/staff/\(ben)/unlock", []).location == "/practice")
            #expect(try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.staffUnlocked.rawValue).count() == 1)
        }
    }

    @Test func editChangesNameRoleAndAdminMarkButTheLastActiveAdminKeepsIt() async throws {
        try await withCaseTalk { app, clock in
            let world = try await CaseWorld.make(app)
            let dee = world.dee.uuidString
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            let deeBrowser = Browser(app)
            try await deeBrowser.signIn("dee@riverside.example")
            let page = try await ada.get("/practice").body.string
            #expect(page.contains("href=\"/practice/staff/\(dee)/edit\"") && page.contains("aria-label=\"Edit Dee Nolan\""))
            let form = try await ada.get("/practice/staff/\(dee)/edit").body.string
            #expect(form.contains("<h1>Edit Dee Nolan</h1>") && form.contains("value=\"Dee Nolan\""))

            // Hostile or empty input: a clear message, nothing saved.
            for (name, role, message) in [("", "staff", "Enter the name."), ("<script>alert(1)</script>", "superuser", "Choose Doctor or Staff."),
                                           (String(repeating: "n", count: 5000), "staff", "name"), ("Dee\u{0}Nolan", "staff", "name")] {
                let answer = try await ada.post("/practice/staff/\(dee)/edit", [("name", name), ("role", role), ("admin", "1")])
                #expect(answer.status == .badRequest && answer.body.string.contains(message), "\(name.prefix(10))")
                #expect(!answer.body.string.contains("<script>alert"))
            }
            let unchanged = try #require(try await StaffUser.find(world.dee, on: app.db))
            #expect(unchanged.name == "Dee Nolan" && unchanged.role == .staff && !unchanged.isAdmin)

            // Another practice's admin, a non-admin, a forged token: 404, 404, 403.
            let northside = try #require(try await StaffUser.find(world.cy, on: app.db)).$practice.id
            try await Fixtures(app: app).staff("eve@northside.example", name: "Dr. Eve Lind", practice: northside, admin: true)
            let eve = Browser(app)
            try await eve.signIn("eve@northside.example")
            #expect(try await eve.get("/practice/staff/\(dee)/edit").status == .notFound)
            #expect(try await eve.post("/practice/staff/\(dee)/edit", [("name", "Eve's"), ("role", "staff")]).status == .notFound)
            try await deeBrowser.get("/cases")
            #expect(try await deeBrowser.post("/practice/staff/\(dee)/edit", [("name", "Me"), ("role", "doctor"), ("admin", "1")]).status == .notFound)
            #expect(try await ada.post("/practice/staff/\(dee)/edit", [("name", "X"), ("role", "staff")], csrf: "forged").status == .forbidden)
            #expect(try #require(try await StaffUser.find(world.dee, on: app.db)).name == "Dee Nolan")

            // Ada is the only admin: she cannot take her own mark off.
            let own = try await ada.post("/practice/staff/\(world.ada)/edit", [("name", "Dr. Ada Park"), ("role", "doctor")])
            #expect(own.status == .conflict && own.body.string.contains("is the last active admin of this practice"))
            #expect(try #require(try await StaffUser.find(world.ada, on: app.db)).isAdmin)

            // Dee becomes a doctor and an admin under a corrected name: her next request says so.
            try await ada.get("/practice/staff/\(dee)/edit")
            #expect(try await ada.post("/practice/staff/\(dee)/edit", [("name", "Dr. Dee Nolan"), ("role", "doctor"), ("admin", "1")]).location
                    == "/practice?done=edited")
            let edited = try #require(try await StaffUser.find(world.dee, on: app.db))
            #expect(edited.name == "Dr. Dee Nolan" && edited.role == .doctor && edited.isAdmin)
            #expect(try await deeBrowser.get("/practice").status == .ok, "an admin from her next request")
            let audited = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.staffEdited.rawValue).all().map(\.subject)
            #expect(audited == ["staff:\(dee) changed:name,role,admin"])
            // Now Ada may step down; her next request no longer opens Practice.
            try await ada.get("/practice/staff/\(world.ada)/edit")
            #expect(try await ada.post("/practice/staff/\(world.ada)/edit", [("name", "Dr. Ada Park"), ("role", "doctor")]).location
                    == "/practice?done=edited")
            #expect(try await ada.get("/practice").status == .notFound)
            _ = clock
        }
    }

    @Test func datesAreShownInThePracticesTimeZoneWithItsAbbreviationAcrossDaylightSaving() throws {
        let york = try #require(ShownZone(identifier: "America/New_York"))
        // 15:30 UTC: 10:30 in winter (EST, UTC-5), 11:30 in summer (EDT, UTC-4).
        #expect(york.display(Date(timeIntervalSince1970: 1_768_491_000)) == "Jan 15, 2026 at 10:30\u{202F}AM EST")
        #expect(york.display(Date(timeIntervalSince1970: 1_784_129_400)) == "Jul 15, 2026 at 11:30\u{202F}AM EDT")
        // The night the clocks go back: 05:30 UTC is 1:30 EDT, 06:30 UTC is 1:30 EST.
        #expect(york.display(Date(timeIntervalSince1970: 1_793_511_000)) == "Nov 1, 2026 at 1:30\u{202F}AM EDT")
        #expect(york.display(Date(timeIntervalSince1970: 1_793_514_600)) == "Nov 1, 2026 at 1:30\u{202F}AM EST")
        #expect(ShownZone.utc.display(Date(timeIntervalSince1970: 1_768_491_000)) == "Jan 15, 2026 at 3:30\u{202F}PM UTC")
        #expect(ShownZone(stored: "Mars/Olympus_Mons") == .utc, "a zone the system lost falls back to labelled UTC")
        // A zone without an English abbreviation is labelled by its offset, which follows its summer time too.
        let berlin = try #require(ShownZone(identifier: "Europe/Berlin"))
        #expect(berlin.display(Date(timeIntervalSince1970: 1_768_491_000)) == "Jan 15, 2026 at 4:30\u{202F}PM UTC+1")
        #expect(berlin.display(Date(timeIntervalSince1970: 1_784_129_400)) == "Jul 15, 2026 at 5:30\u{202F}PM UTC+2")
        let kolkata = try #require(ShownZone(identifier: "Asia/Kolkata"))
        #expect(kolkata.display(Date(timeIntervalSince1970: 1_768_491_000)) == "Jan 15, 2026 at 9:00\u{202F}PM UTC+5:30")
        #expect(ShownZone.isListed("Europe/Berlin") && !ShownZone.isListed("EST") && !ShownZone.isListed("Mars/Olympus_Mons"))
    }

    @Test func practiceSettingsChangeTheNameAndTheZoneEveryDateIsShownIn() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Your crown is ready.", as: t.ben)
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
            // The default zone: the test clock's November is EST.
            #expect(try await t.ben.get("/cases/\(t.caseID)/talk").body.string.contains(" EST</time>"))
            #expect(try await t.pat.get("/inbox/\(conversation)").body.string.contains(" EST</time>"))
            #expect(try await t.pat.get("/inbox").body.string.contains(" EST"))

            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            let page = try await ada.get("/practice").body.string
            #expect(page.contains("Practice settings") && page.contains("<option value=\"America/New_York\" selected>"))
            for (name, zone, message) in [("", "Europe/Berlin", "Enter the practice"), ("Riverside", "Mars/Olympus_Mons", "Choose a time zone from the list."),
                                          ("Riverside", "EST", "Choose a time zone from the list."), ("<script>alert(1)</script>", "", "Choose a time zone"),
                                          (String(repeating: "r", count: 500), "Europe/Berlin", "practice name")] {
                let answer = try await ada.post("/practice/settings", [("practice_name", name), ("time_zone", zone)])
                #expect(answer.status == .badRequest && answer.body.string.contains(message), "\(zone)")
                #expect(!answer.body.string.contains("<script>alert"))
            }
            try await t.cy.get("/cases")
            #expect(try await t.cy.post("/practice/settings", [("practice_name", "Mine"), ("time_zone", "Europe/Berlin")]).status == .notFound)
            let riverside = try #require(try await StaffUser.find(t.registration.invitations.world.ben, on: app.db)).$practice.id
            #expect(try #require(try await Practice.find(riverside, on: app.db)).timeZone == "America/New_York", "nothing changed")

            try await ada.get("/practice")
            #expect(try await ada.post("/practice/settings", [("practice_name", "Riverside Dental Studio"), ("time_zone", "Europe/Berlin")])
                    .location == "/practice?done=settings")
            let saved = try #require(try await Practice.find(riverside, on: app.db))
            #expect(saved.name == "Riverside Dental Studio" && saved.timeZone == "Europe/Berlin")
            // Its staff and its patients now read its dates in Berlin time (UTC+1 in November).
            let talk = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(talk.contains(" UTC+1</time>") && !talk.contains(" EST</time>"))
            let thread = try await t.pat.get("/inbox/\(conversation)").body.string
            #expect(thread.contains(" UTC+1</time>") && thread.contains("Riverside Dental Studio"))
            // Cy's practice kept its own zone.
            #expect(try await t.cy.get("/cases").body.string.contains(" EST"))
            let audited = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.practiceSettingsChanged.rawValue).all()
            #expect(audited.map(\.subject) == ["practice:\(riverside) changed:name,time_zone"])
        }
    }

    @Test func anAdminResetsTheTwoStepVerificationOfAColleagueWhoLostTheirPhone() async throws {
        try await withCaseTalk { app, clock in
            let mailer = RecordingMailer()
            app.caseTalk.mailer = mailer
            let world = try await CaseWorld.make(app)
            let benID = world.ben
            let ben = Browser(app)
            try await ben.signIn("ben@riverside.example")
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            let page = try await ada.get("/practice").body.string
            #expect(page.contains("aria-label=\"Reset two-step verification of Dr. Ben Stone\""))
            #expect(!page.contains("aria-label=\"Reset two-step verification of Dr. Ada Park\""), "not her own")

            // Another practice's admin, a colleague who is not an admin, a forged token: nothing changes.
            let northside = try #require(try await StaffUser.find(world.cy, on: app.db)).$practice.id
            try await Fixtures(app: app).staff("eve@northside.example", name: "Dr. Eve Lind", practice: northside, admin: true)
            let eve = Browser(app)
            try await eve.signIn("eve@northside.example")
            try await eve.get("/practice")
            #expect(try await eve.post("/practice/staff/\(benID)/reset-two-step", []).status == .notFound)
            let dee = Browser(app)
            try await dee.signIn("dee@riverside.example")
            try await dee.get("/cases")
            #expect(try await dee.post("/practice/staff/\(benID)/reset-two-step", []).status == .notFound)
            #expect(try await ada.post("/practice/staff/\(benID)/reset-two-step", [], csrf: "forged").status == .forbidden)
            #expect(try #require(try await StaffUser.find(benID, on: app.db)).totpKey != nil)
            #expect(try await ben.get("/cases").status == .ok)

            try await ada.get("/practice")
            #expect(try await ada.post("/practice/staff/\(benID)/reset-two-step", []).location == "/practice?done=two-step-reset")
            #expect(try #require(try await StaffUser.find(benID, on: app.db)).totpKey == nil)
            #expect(try await ben.get("/cases").location?.hasPrefix("/login") == true, "signed out everywhere")
            #expect(try await Browser(app).signInPasswordOnly("ben@riverside.example").location == "/two-step/setup", "set up again")
            try await Fixtures(app: app).deliver()
            let told = try #require(mailer.sent.first { $0.to == "ben@riverside.example" })
            #expect(told.subject == "Your CaseTalk two-step verification was reset")
            let audited = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.twoStepReset.rawValue).all()
            #expect(audited.map(\.subject) == ["staff:\(benID)"])
            // Nothing left to reset: nothing happens.
            #expect(try await ada.post("/practice/staff/\(benID)/reset-two-step", []).location == "/practice")
            #expect(try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.twoStepReset.rawValue).count() == 1)
            _ = clock
        }
    }
}
