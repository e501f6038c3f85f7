@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// **Deactivate**, **Reactivate** and departures (SPEC §9): a leaving member's sessions end on
/// their next request and sign-in is refused as for a wrong password; each of their Patient
/// Talks is handed over (read by exactly the new member and the patient), closed (readable, no
/// replies), or closes itself after 7 days; the last active admin stays; only the practice's own
/// admins can do any of it.
@Suite struct DepartureTests {
    /// Ben wrote to Pat and Pat replied: Ben owns one Patient Talk. Ada (Riverside's admin) is signed in.
    struct World {
        let t: TalkWorld
        let ada: Browser
        let conversationID: UUID
        var world: CaseWorld { t.registration.invitations.world }
        var app: Application { t.app }

        static func make(_ app: Application, _ clock: TestClock) async throws -> World {
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Your crown is ready.", as: t.ben)
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben))
            let id = try conversation.requireID()
            try await t.pat.get("/inbox/\(id)")
            try await t.pat.post("/inbox/\(id)", [("body", "Thank you, I will come on Monday.")])
            clock.advance(by: 60)
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            return World(t: t, ada: ada, conversationID: id)
        }

        func deactivate(_ staffID: UUID, _ fields: [(String, String)] = [], by admin: Browser? = nil) async throws -> TestingHTTPResponse {
            let admin = admin ?? ada
            try await admin.get("/practice/staff/\(staffID)/deactivate")
            return try await admin.post("/practice/staff/\(staffID)/deactivate", fields)
        }

        func staff(_ id: UUID) async throws -> StaffUser { try #require(try await StaffUser.find(id, on: app.db)) }
        func conversation() async throws -> Conversation { try #require(try await Conversation.find(conversationID, on: app.db)) }
        func audited(_ action: AuditAction) async throws -> [String] {
            try await AuditEntry.query(on: app.db).filter(\.$action == action.rawValue).all().map(\.subject)
        }
    }

    @Test func deactivatingAndHandingOverLeavesExactlyTheNewMemberAndThePatient() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            let ben = w.world.ben, dee = w.world.dee
            let field = "talk-\(w.conversationID.uuidString)"
            let practice = try await w.ada.get("/practice").body.string
            #expect(practice.contains("href=\"/practice/staff/\(ben)/deactivate\"") && practice.contains("aria-label=\"Deactivate Dr. Ben Stone\""))

            // The page names the talk's patient and case, never its messages; Dee can take it, Cy (Northside) cannot.
            let page = try await w.ada.get("/practice/staff/\(ben)/deactivate").body.string
            #expect(page.contains("<h1>Deactivate Dr. Ben Stone</h1>") && page.contains("Ana Silva") && page.contains("Crown on 14"))
            #expect(page.contains("<label for=\"\(field)\">Hand over or Close</label>") && page.contains("Hand over to Dee Nolan"))
            #expect(page.contains("Hand over all"))
            #expect(!page.contains("Your crown is ready") && !page.contains("Monday"), "an admin reads no Patient Talk")
            #expect(!page.contains("Dr. Cy Moreau") && !page.contains("Hand over to Dr. Ben Stone"))

            let answer = try await w.deactivate(ben, [(field, dee.uuidString)])
            #expect(answer.location == "/practice?done=deactivated")
            #expect(try await w.staff(ben).deactivatedAt != nil)

            // Ben's session ends on its very next request; his password is refused as a wrong one.
            #expect(try await w.t.ben.get("/cases").location?.hasPrefix("/login") == true)
            #expect(try await w.t.ben.get("/cases/\(w.t.caseID)/talk").status != .ok)
            let again = try await Browser(app).signIn("ben@riverside.example")
            #expect(again.status == .unauthorized && again.body.string.contains("Email or password is incorrect"))

            // The conversation is Dee's now: she joined the case and reads the whole thread.
            #expect(try await w.conversation().memberID == dee)
            let deeBrowser = Browser(app)
            try await deeBrowser.signIn("dee@riverside.example")
            let deeTalk = try await deeBrowser.get("/cases/\(w.t.caseID)/talk").body.string
            #expect(deeTalk.contains("Your crown is ready.") && deeTalk.contains("Thank you, I will come on Monday."))
            #expect(deeTalk.contains("Continued by Dee Nolan since") && deeTalk.contains("previously Dr. Ben Stone (inactive)"))
            #expect(deeTalk.contains("<strong>Dr. Ben Stone (inactive)</strong>"), "Ben's message stays signed by Ben")

            // The patient sees who reads their messages now; their reply lands with Dee only.
            let patPage = try await w.t.pat.get("/inbox/\(w.conversationID)").body.string
            #expect(patPage.contains("Your messages here are now read by Dee Nolan.") && patPage.contains("Continued by Dee Nolan since"))
            #expect(try await w.t.pat.post("/inbox/\(w.conversationID)", [("body", "Is Monday at 9 fine?")]).location
                    == "/inbox/\(w.conversationID)?sent=1")
            #expect(try await deeBrowser.get("/cases/\(w.t.caseID)/talk").body.string.contains("Is Monday at 9 fine?"))
            // A colleague on the case still sees nothing of it.
            let cyTalk = try await w.t.cy.get("/cases/\(w.t.caseID)/talk").body.string
            #expect(!cyTalk.contains("Is Monday at 9 fine?") && !cyTalk.contains("Your crown is ready."))
            // Ben stays on the case, named as inactive; he is gone from Add a Doctor/Staff.
            let overview = try await w.t.cy.get("/cases/\(w.t.caseID)").body.string
            #expect(overview.contains("Dr. Ben Stone (inactive)"))
            let (_, otherCase) = try await w.world.caseByBen(title: "Whitening", in: deeBrowser)
            let search = try await deeBrowser.get("/cases/\(otherCase)?q=stone").body.string
            #expect(!search.contains("Dr. Ben Stone"), "\(search)")
            #expect(try await deeBrowser.get("/cases/\(otherCase)?q=moreau").body.string.contains("Dr. Cy Moreau"), "the search itself works")
            try await deeBrowser.post("/cases/\(otherCase)/members", [("staff_id", ben.uuidString)])
            #expect(try await CaseMember.query(on: app.db).filter(\.$patientCase.$id == otherCase).filter(\.$staff.$id == ben).count() == 0,
                    "nor added by id")

            // The patient is told without content; Dee is told; each step is audited.
            try await Fixtures(app: app).deliver()
            let mails = w.t.registration.invitations.mailer.sent
            let notice = try #require(mails.first { $0.subject == "Your care team has changed" })
            #expect(notice.to == "pat@example.com" && !notice.text.contains("Crown") && !notice.text.contains("Ana")
                    && !notice.text.contains("Monday") && notice.text.contains("/inbox/\(w.conversationID)"))
            #expect(mails.contains { $0.to == "dee@riverside.example" && $0.subject.contains("handed over") })
            #expect(try await w.audited(.staffDeactivated) == ["staff:\(ben)"])
            #expect(try await w.audited(.conversationHandedOver) == ["conversation:\(w.conversationID) from:staff:\(ben) to:staff:\(dee)"])
            #expect(try await w.audited(.memberAdded).contains("case:\(w.t.caseID) staff:\(dee)"))

            // The practice page shows him deactivated, with Reactivate.
            let after = try await w.ada.get("/practice?done=deactivated").body.string
            #expect(after.contains("The account was deactivated") && after.contains(">Deactivated<")
                    && after.contains("aria-label=\"Reactivate Dr. Ben Stone\""))
            #expect(!after.contains("Decide on"), "nothing left to decide")
        }
    }

    @Test func onlyThePracticesOwnAdminsCanDeactivateOrReactivate() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            let ben = w.world.ben.uuidString
            let northside = try await w.staff(w.world.cy).$practice.id
            try await Fixtures(app: app).staff("eve@northside.example", name: "Dr. Eve Lind", practice: northside, admin: true)
            let eve = Browser(app)
            try await eve.signIn("eve@northside.example")
            try await eve.get("/practice")
            for path in ["/practice/staff/\(ben)/deactivate", "/practice/staff/\(UUID())/deactivate"] {
                #expect(try await eve.get(path).status == .notFound)
                #expect(try await eve.post(path, []).status == .notFound)
                #expect(try await w.ada.get(path).status == (path.contains(ben) ? .ok : .notFound))
            }
            #expect(try await eve.post("/practice/staff/\(ben)/reactivate", []).status == .notFound)
            try await w.t.cy.get("/cases")
            #expect(try await w.t.cy.get("/practice/staff/\(ben)/deactivate").status == .notFound)
            #expect(try await w.t.cy.post("/practice/staff/\(ben)/deactivate", []).status == .notFound)
            #expect(try await w.t.pat.get("/practice/staff/\(ben)/deactivate").status != .ok)
            let visitor = Browser(app)
            try await visitor.get("/login")
            #expect(try await visitor.get("/practice/staff/\(ben)/deactivate").location?.hasPrefix("/login") == true)
            #expect(try await visitor.post("/practice/staff/\(ben)/deactivate", []).location?.hasPrefix("/login") == true)
            try await w.ada.get("/practice/staff/\(ben)/deactivate")
            #expect(try await w.ada.post("/practice/staff/\(ben)/deactivate", [], csrf: "forged").status == .forbidden)
            #expect(try await w.staff(w.world.ben).deactivatedAt == nil, "nothing changed")
            #expect(try await w.t.ben.get("/cases").status == .ok)
            #expect(try await w.audited(.staffDeactivated).isEmpty)
        }
    }

    @Test func badChoicesChangeNothingAndSayWhy() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            let ben = w.world.ben
            let field = "talk-\(w.conversationID.uuidString)"
            // Dee joins the case and writes to Pat: she has a Patient Talk of her own there, so Ben's
            // cannot go to her; nor to Cy (another practice), Ben himself or a stranger.
            try await w.t.ben.get("/cases/\(w.t.caseID)")
            try await w.t.ben.post("/cases/\(w.t.caseID)/members", [("staff_id", w.world.dee.uuidString)])
            let dee = Browser(app)
            try await dee.signIn("dee@riverside.example")
            #expect(try await w.t.write("A note from Dee.", as: dee).status == .seeOther)
            let page = try await w.ada.get("/practice/staff/\(ben)/deactivate").body.string
            #expect(!page.contains("Hand over to Dee Nolan") && page.contains("Hand over to Dr. Ada Park"))
            for value in [w.world.dee.uuidString, w.world.cy.uuidString, ben.uuidString, UUID().uuidString, "DROP TABLE conversations", "<script>", "",
                          String(repeating: "9", count: 5000)] {
                let answer = try await w.deactivate(ben, [(field, value)])
                #expect(answer.status == .badRequest, "\(value.prefix(20))")
                #expect(answer.body.string.contains("Choose a colleague from the list, Close, or Decide later."))
                #expect(!answer.body.string.contains("<script>"))
            }
            for value in [w.world.dee.uuidString, w.world.cy.uuidString, "close", "not-an-id", ben.uuidString] {
                let answer = try await w.deactivate(ben, [("all", value)])
                #expect(answer.status == .badRequest && answer.body.string.contains("Choose a colleague of this practice for Hand over all."))
            }
            #expect(try await w.staff(ben).deactivatedAt == nil)
            #expect(try await w.conversation().memberID == ben)
            #expect(try await w.conversation().closedAt == nil)
            #expect(try await w.t.ben.get("/cases").status == .ok)
            #expect(try await w.audited(.staffDeactivated).isEmpty)
            #expect(try await w.audited(.conversationHandedOver).isEmpty)
        }
    }

    @Test func theLastActiveAdminStaysEvenWhenTwoAdminsDeactivateEachOtherAtOnce() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            let ada = w.world.ada
            let refused = try await w.deactivate(ada)
            #expect(refused.status == .conflict && refused.body.string.contains("is the last active admin of this practice"))
            #expect(try await w.staff(ada).deactivatedAt == nil)
            #expect(try await w.ada.get("/practice").status == .ok, "still signed in")

            // Two admins deactivate each other at the same moment: one of them stays.
            let riverside = try await w.staff(ada).$practice.id
            let fay = try await Fixtures(app: app).staff("fay@riverside.example", name: "Dr. Fay Ortiz", practice: riverside, admin: true)
            let fayBrowser = Browser(app)
            try await fayBrowser.signIn("fay@riverside.example")
            try await w.ada.get("/practice/staff/\(fay)/deactivate")
            try await fayBrowser.get("/practice/staff/\(ada)/deactivate")
            let posts = [(w.ada.sessionCookie, w.ada.csrf, fay), (fayBrowser.sessionCookie, fayBrowser.csrf, ada)]
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for (cookie, csrf, target) in posts {
                    group.addTask {
                        let copy = Browser(app)
                        copy.useCookie(cookie)
                        let answer = try await copy.post("/practice/staff/\(target)/deactivate", [], csrf: csrf)
                        return "\(answer.status.code) \(answer.location ?? "")"
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var active = 0
            for id in [ada, fay] where try await w.staff(id).deactivatedAt == nil { active += 1 }
            #expect(active == 1, "\(answers)")
            // The other one was refused as the last admin, or (deactivated first) signed out.
            #expect(answers.filter { $0 == "303 /practice?done=deactivated" }.count == 1, "\(answers)")
            #expect(try await w.audited(.staffDeactivated).count == 1)
        }
    }

    @Test func aClosedConversationStaysReadableRefusesRepliesAndSaysWhomToContact() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            let field = "talk-\(w.conversationID.uuidString)"
            #expect(try await w.deactivate(w.world.ben, [(field, "close")]).location == "/practice?done=deactivated")
            #expect(try await w.conversation().closedAt != nil)
            let page = try await w.t.pat.get("/inbox/\(w.conversationID)").body.string
            #expect(page.contains("Your crown is ready.") && page.contains("Thank you, I will come on Monday."))
            #expect(page.contains("Dr. Ben Stone is no longer available here. Please contact Riverside Dental."))
            #expect(!page.contains("Your reply") && !page.contains("name=\"body\""), "no reply box")
            let messages = try await Message.query(on: app.db).filter(\.$conversationID == w.conversationID).count()
            let refused = try await w.t.pat.post("/inbox/\(w.conversationID)", [("body", "Hello?")])
            #expect(refused.status == .conflict && refused.body.string.contains("is no longer available here"))
            let withFiles = try await w.t.pat.postFiles("/uploads/inbox/\(w.conversationID)", [.field("body", "Hello?")])
            #expect(withFiles.status == .conflict)
            let ahead = try await w.t.pat.postFiles("/uploads/inbox/\(w.conversationID)/files", [.file("a.pdf", Array("%PDF-1.4\n".utf8))])
            #expect(ahead.status == .conflict)
            #expect(try await Message.query(on: app.db).filter(\.$conversationID == w.conversationID).count() == messages)
            #expect(try await w.audited(.conversationClosed) == ["conversation:\(w.conversationID) staff:\(w.world.ben)"])
        }
    }

    @Test func undecidedTalksCloseThemselvesAfterSevenDaysAndTheAdminsAreTold() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            let ben = w.world.ben
            #expect(try await w.deactivate(ben).location == "/practice?done=deactivated")
            let practice = try await w.ada.get("/practice").body.string
            #expect(practice.contains("Decide on 1 Patient Talk"))
            // Until it is decided the patient may still write; it waits for whoever takes it.
            #expect(try await w.t.pat.get("/inbox/\(w.conversationID)").body.string.contains("name=\"body\""))
            let later = try await w.ada.get("/practice/staff/\(ben)/deactivate").body.string
            #expect(later.contains("<h1>Patient Talks of Dr. Ben Stone</h1>") && later.contains("Save decisions"))

            clock.advance(by: 7 * 24 * 3600 - 60)
            #expect(try await Departures.closeUndecided(services: app.caseTalk, now: clock.now, on: app.db) == 0)
            clock.advance(by: 61)
            #expect(try await Departures.closeUndecided(services: app.caseTalk, now: clock.now, on: app.db) == 1)
            #expect(try await w.conversation().closedAt != nil)
            #expect(try await Departures.closeUndecided(services: app.caseTalk, now: clock.now, on: app.db) == 0, "once")
            try await Fixtures(app: app).deliver()
            let told = w.t.registration.invitations.mailer.sent.filter { $0.subject == "Patient Talks closed on CaseTalk" }
            #expect(told.map(\.to) == ["ada@riverside.example"])
            #expect(told.allSatisfy { !$0.text.contains("Ana") && !$0.text.contains("Crown") && !$0.text.contains("Ben") })
            // A week on, both sign in again (their sessions ended meanwhile).
            try await w.t.pat.signIn("pat@example.com", password: RegistrationWorld.password)
            let patPage = try await w.t.pat.get("/inbox/\(w.conversationID)").body.string
            #expect(patPage.contains("Dr. Ben Stone is no longer available here. Please contact Riverside Dental."))
            try await w.ada.signIn("ada@riverside.example")
            #expect(!(try await w.ada.get("/practice").body.string.contains("Decide on")))
        }
    }

    @Test func aHandoverDecidedAfterTheDeactivationWorksToo() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            let ben = w.world.ben, dee = w.world.dee
            #expect(try await w.deactivate(ben).location == "/practice?done=deactivated")
            #expect(try await w.deactivate(ben, [("all", dee.uuidString)]).location == "/practice?done=decided")
            #expect(try await w.conversation().memberID == dee)
            #expect(try await w.audited(.staffDeactivated).count == 1, "deactivated once")
        }
    }

    @Test func reactivationRestoresSignInWithANewTwoStepSetUp() async throws {
        try await withCaseTalk { app, clock in
            let w = try await World.make(app, clock)
            let ben = w.world.ben
            #expect(try await w.deactivate(ben).location == "/practice?done=deactivated")
            #expect(try await w.staff(ben).totpKey == nil, "the two-step key went with the deactivation")
            try await w.ada.get("/practice")
            #expect(try await w.ada.post("/practice/staff/\(ben)/reactivate", []).location == "/practice?done=reactivated")
            #expect(try await w.staff(ben).deactivatedAt == nil)
            let back = try await Browser(app).signInPasswordOnly("ben@riverside.example")
            #expect(back.location?.hasPrefix("/two-step/setup") == true, "\(back.status) \(back.location ?? "")")
            #expect(try await w.audited(.staffReactivated) == ["staff:\(ben)"])
            // Active already: nothing to do.
            #expect(try await w.ada.post("/practice/staff/\(ben)/reactivate", []).location == "/practice")
            #expect(try await w.audited(.staffReactivated).count == 1)
        }
    }
}

/// **Leave this case** and **Remove from case** (SPEC §9): the member loses the case at once, after
/// their Patient Talk there is handed over or closed; the case's own practice keeps a member.
@Suite struct LeavingTests {
    func leave(_ browser: Browser, _ caseID: UUID, _ staffID: UUID, talk: String? = nil) async throws -> TestingHTTPResponse {
        let path = "/cases/\(caseID)/members/\(staffID)/remove"
        try await browser.get(path)
        return try await browser.post(path, talk.map { [("talk", $0)] } ?? [])
    }

    @Test func aMemberLeavesHandingTheirTalkToAColleagueAndTheCasesPracticeKeepsAMember() async throws {
        try await withCaseTalk { app, clock in
            let w = try await DepartureTests.World.make(app, clock)
            let ben = w.world.ben, dee = w.world.dee, caseID = w.t.caseID
            let overview = try await w.t.ben.get("/cases/\(caseID)").body.string
            #expect(overview.contains("href=\"/cases/\(caseID)/members/\(ben)/remove\">Leave this case</a>"))
            #expect(!overview.contains("Remove from case"), "Ben is not an admin")
            let page = try await w.t.ben.get("/cases/\(caseID)/members/\(ben)/remove").body.string
            #expect(page.contains("Hand over to Dee Nolan") && page.contains(">Close<") && !page.contains("Hand over to Dr. Cy Moreau"))

            // Ben is Riverside's only member on its case: closing his talk and leaving would leave none.
            let refused = try await leave(w.t.ben, caseID, ben, talk: "close")
            #expect(refused.status == .conflict && refused.body.string.contains("must keep a member on this case"))
            #expect(try await w.conversation().closedAt == nil, "nothing changed")
            #expect(try await leave(w.t.ben, caseID, ben).status == .badRequest, "a choice is needed")
            #expect(try await leave(w.t.ben, caseID, ben, talk: w.world.cy.uuidString).status == .badRequest)

            #expect(try await leave(w.t.ben, caseID, ben, talk: dee.uuidString).location == "/cases?left=1")
            #expect(try await w.t.ben.get("/cases?left=1").body.string.contains("You left the case."))
            #expect(try await w.t.ben.get("/cases/\(caseID)").status == .notFound, "he loses the case at once")
            #expect(try await w.t.ben.get("/cases/\(caseID)/talk").status == .notFound)
            #expect(try await w.conversation().memberID == dee)
            #expect(try await w.t.pat.get("/inbox/\(w.conversationID)").body.string.contains("Your messages here are now read by Dee Nolan."))
            #expect(try await w.audited(.memberRemoved) == ["case:\(caseID) staff:\(ben)"])
        }
    }

    @Test func aMemberOfAnotherPracticeLeavesClosingTheirTalkAndAnAdminOfTheOwningPracticeRemoves() async throws {
        try await withCaseTalk { app, clock in
            let w = try await DepartureTests.World.make(app, clock)
            let caseID = w.t.caseID, cy = w.world.cy, ben = w.world.ben
            try await w.t.write("Northside here.", as: w.t.cy)
            let cyTalk = try #require(try await w.t.conversation(of: cy)).requireID()
            // Nobody but Cy himself, or an admin of the case's own practice on the case, can take him off.
            #expect(try await w.t.ben.get("/cases/\(caseID)/members/\(cy)/remove").status == .notFound, "Ben is no admin")
            #expect(try await w.t.cy.get("/cases/\(caseID)/members/\(ben)/remove").status == .notFound, "Cy is not of the owning practice")
            #expect(try await w.ada.get("/cases/\(caseID)/members/\(cy)/remove").status == .notFound, "Ada is not on the case")
            #expect(try await w.t.ben.get("/cases/\(caseID)/members/\(UUID())/remove").status == .notFound)
            #expect(try await w.t.ben.get("/cases/\(caseID)/members/\(w.world.dee)/remove").status == .notFound, "not on the case")

            // Ada joins; she may remove Cy: his talk can only close (no Northside colleague on CaseTalk here).
            try await w.t.ben.get("/cases/\(caseID)")
            try await w.t.ben.post("/cases/\(caseID)/members", [("staff_id", w.world.ada.uuidString)])
            let overview = try await w.ada.get("/cases/\(caseID)").body.string
            #expect(overview.contains("aria-label=\"Remove Dr. Cy Moreau from case\""))
            let page = try await w.ada.get("/cases/\(caseID)/members/\(cy)/remove").body.string
            #expect(page.contains("Remove Dr. Cy Moreau from case") && !page.contains("Hand over to") && !page.contains("Northside here."))
            #expect(try await leave(w.ada, caseID, cy, talk: "close").location == "/cases/\(caseID)?done=member-removed")
            #expect(try await w.t.cy.get("/cases/\(caseID)").status == .notFound)
            let closed = try await w.t.pat.get("/inbox/\(cyTalk)").body.string
            #expect(closed.contains("Northside here.") && closed.contains("Dr. Cy Moreau is no longer available here. Please contact Northside Surgery."))
            #expect(try await w.audited(.memberRemoved) == ["case:\(caseID) staff:\(cy)"])
            #expect(try await w.audited(.conversationClosed) == ["conversation:\(cyTalk) staff:\(cy)"])
        }
    }

    @Test func twoMembersOfTheOwningPracticeLeavingAtOnceLeaveOneBehind() async throws {
        try await withCaseTalk { app, clock in
            let w = try await DepartureTests.World.make(app, clock)
            let (ben, caseID) = try await w.world.caseByBen(title: "Bridge", in: w.t.ben)
            try await ben.get("/cases/\(caseID)")
            try await ben.post("/cases/\(caseID)/members", [("staff_id", w.world.dee.uuidString)])
            let dee = Browser(app)
            try await dee.signIn("dee@riverside.example")
            let path = { (id: UUID) in "/cases/\(caseID)/members/\(id)/remove" }
            try await ben.get(path(w.world.ben))
            try await dee.get(path(w.world.dee))
            let posts = [(ben.sessionCookie, ben.csrf, w.world.ben), (dee.sessionCookie, dee.csrf, w.world.dee)]
            let answers = try await withThrowingTaskGroup(of: UInt.self) { group in
                for (cookie, csrf, id) in posts {
                    group.addTask {
                        let copy = Browser(app)
                        copy.useCookie(cookie)
                        return try await copy.post("/cases/\(caseID)/members/\(id)/remove", [], csrf: csrf).status.code
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.sorted() == [303, 409], "\(answers)")
            #expect(try await CaseMember.query(on: app.db).filter(\.$patientCase.$id == caseID).count() == 1)
        }
    }
}
