@testable import CaseTalkApp
import Fluent
import Foundation
import Testing
import VaporTesting

/// Two practices: Ada (admin) and Ben at Riverside, Cy at Northside, Dee at Riverside (staff).
struct CaseWorld {
    let app: Application
    let ada: UUID, ben: UUID, cy: UUID, dee: UUID

    static func make(_ app: Application) async throws -> CaseWorld {
        let fx = Fixtures(app: app)
        let riverside = try await fx.practice("Riverside Dental")
        let northside = try await fx.practice("Northside Surgery")
        return CaseWorld(
            app: app,
            ada: try await fx.staff("ada@riverside.example", name: "Dr. Ada Park", practice: riverside, admin: true),
            ben: try await fx.staff("ben@riverside.example", name: "Dr. Ben Stone", practice: riverside),
            cy: try await fx.staff("cy@northside.example", name: "Dr. Cy Moreau", practice: northside),
            dee: try await fx.staff("dee@riverside.example", name: "Dee Nolan", practice: riverside, role: .staff))
    }

    /// Ben creates a case through the form and returns its id: in a browser of his own that
    /// signs in, or in `browser`, where he is signed in already.
    func caseByBen(title: String = "Crown on 14", in browser: Browser? = nil) async throws -> (Browser, UUID) {
        let ben = browser ?? Browser(app)
        if browser == nil { try await ben.signIn("ben@riverside.example") }
        try await ben.get("/cases/new")
        let response = try await ben.post("/cases", [("first_name", "Ana"), ("last_name", "Silva"), ("title", title),
                                                     ("date_of_birth", "1990-02-28"), ("notes", "Upper right")])
        let location = try #require(response.location)
        let id = try #require(UUID(uuidString: String(location.dropFirst("/cases/".count).prefix(36))))
        return (ben, id)
    }
}

@Suite struct CaseAccessTests {
    @Test func onlyMembersCanOpenACaseEveryoneElseGets404() async throws {
        try await withCaseTalk { app, _ in
            let world = try await CaseWorld.make(app)
            let (_, caseID) = try await world.caseByBen()
            let member = Browser(app)
            try await member.signIn("ben@riverside.example")
            let paths = ["/cases/\(caseID)", "/cases/\(caseID)/talk", "/cases/\(caseID)/invite", "/cases/\(caseID)?q=dr."]
            for path in paths { #expect(try await member.get(path).status == .ok, "member opens \(path)") }

            // The practice admin of the same practice and a doctor of another practice are not members.
            for email in ["ada@riverside.example", "cy@northside.example"] {
                let outsider = Browser(app)
                try await outsider.signIn(email)
                for path in paths {
                    let response = try await outsider.get(path)
                    #expect(response.status == .notFound, "\(email) \(path)")
                    #expect(!response.body.string.contains("Silva"), "a 404 says nothing about the case")
                }
                let list = try await outsider.get("/cases")
                #expect(!list.body.string.contains("Silva"))
                try await outsider.get("/cases/new")
                let add = try await outsider.post("/cases/\(caseID)/members", [("staff_id", world.cy.uuidString)])
                #expect(add.status == .notFound)
            }
            #expect(try await CaseMember.query(on: app.db).count() == 1, "nobody was added by an outsider")
        }
    }

    @Test func missingAndMalformedIdsLookLikeOutOfScopeOnes() async throws {
        try await withCaseTalk { app, _ in
            _ = try await CaseWorld.make(app)
            let ben = Browser(app)
            try await ben.signIn("ben@riverside.example")
            for path in ["/cases/\(UUID())", "/cases/not-a-uuid", "/cases/1%20OR%201=1", "/cases/\(UUID())/talk"] {
                #expect(try await ben.get(path).status == .notFound, "\(path)")
            }
        }
    }

    @Test func anonymousVisitorsAreSentToSignIn() async throws {
        try await withCaseTalk { app, _ in
            let world = try await CaseWorld.make(app)
            let (_, caseID) = try await world.caseByBen()
            let anonymous = Browser(app)
            let response = try await anonymous.get("/cases/\(caseID)")
            #expect(response.status == .seeOther)
            #expect(response.location == "/login?next=/cases/\(caseID.uuidString)")
            #expect(try await anonymous.get("/cases").location?.hasPrefix("/login") == true)
        }
    }
}

@Suite struct CaseWorkflowTests {
    @Test func newCaseMakesTheCreatorItsFirstMemberAndIsAudited() async throws {
        try await withCaseTalk { app, _ in
            let world = try await CaseWorld.make(app)
            let (ben, caseID) = try await world.caseByBen()
            let page = try await ben.get("/cases/\(caseID)")
            #expect(page.body.string.contains("Ana Silva"))
            #expect(page.body.string.contains("Dr. Ben Stone"))
            #expect(page.body.string.contains("Invite Patient"))
            let list = try await ben.get("/cases")
            #expect(list.body.string.contains("Crown on 14"))
            #expect(list.body.string.contains(">View<"))
            let created = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.caseCreated.rawValue).all()
            #expect(created.map(\.subject) == ["case:\(caseID)"])
            #expect(created.first?.actorID == world.ben.uuidString)
        }
    }

    @Test func invalidFormSaysWhatIsWrongAndSavesNothing() async throws {
        try await withCaseTalk { app, _ in
            _ = try await CaseWorld.make(app)
            let ben = Browser(app)
            try await ben.signIn("ben@riverside.example")
            try await ben.get("/cases/new")
            let response = try await ben.post("/cases", [("first_name", ""), ("last_name", "Silva"), ("title", "T"),
                                                         ("date_of_birth", "2999-01-01"), ("patient_email", "not-an-email")])
            #expect(response.status == .unprocessableEntity)
            let body = response.body.string
            #expect(body.contains("Enter the patient&#39;s first name.") || body.contains("Enter the patient's first name."))
            #expect(body.contains("Enter a date of birth between 1900 and today."))
            #expect(body.contains("Enter a valid email address"))
            #expect(try await Fixtures(app: app).count(PatientCase.self) == 0)
        }
    }

    @Test func markupInNamesIsShownAsText() async throws {
        try await withCaseTalk { app, _ in
            _ = try await CaseWorld.make(app)
            let ben = Browser(app)
            try await ben.signIn("ben@riverside.example")
            try await ben.get("/cases/new")
            let response = try await ben.post("/cases", [("first_name", "<script>alert(1)</script>"), ("last_name", "\"><img src=x onerror=alert(1)>"),
                                                         ("title", "<b>bold</b>")])
            let page = try await ben.get(try #require(response.location))
            #expect(!page.body.string.contains("<script>alert(1)"))
            #expect(!page.body.string.contains("<img src=x"))
            #expect(page.body.string.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        }
    }

    @Test func addADoctorFromAnotherPracticeBySearch() async throws {
        try await withCaseTalk { app, _ in
            let world = try await CaseWorld.make(app)
            let (ben, caseID) = try await world.caseByBen()

            let byPractice = try await ben.get("/cases/\(caseID)?q=NORTHSIDE")
            #expect(byPractice.body.string.contains("Dr. Cy Moreau"))
            #expect(byPractice.body.string.contains("+ Add"))
            // Review L6: fewer than 3 characters lists nobody (a one-letter query was the whole directory).
            let short = try await ben.get("/cases/\(caseID)?q=cy")
            #expect(!short.body.string.contains("Dr. Cy Moreau") && short.body.string.contains(CasesController.searchTooShort))
            let self_ = try await ben.get("/cases/\(caseID)?q=ben")
            #expect(!self_.body.string.contains("+ Add"), "members are not offered again")
            let wildcard = try await ben.get("/cases/\(caseID)?q=%25%25%25")
            #expect(!wildcard.body.string.contains("+ Add"), "% is matched literally")

            let add = try await ben.post("/cases/\(caseID)/members", [("staff_id", world.cy.uuidString)])
            #expect(add.location == "/cases/\(caseID)?done=member-added")
            let cy = Browser(app)
            try await cy.signIn("cy@northside.example")
            #expect(try await cy.get("/cases/\(caseID)").status == .ok, "the added doctor can open the case")
            let added = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.memberAdded.rawValue).all()
            #expect(added.map(\.subject) == ["case:\(caseID) staff:\(world.cy)"])

            let again = try await ben.post("/cases/\(caseID)/members", [("staff_id", world.cy.uuidString)])
            #expect(again.location == "/cases/\(caseID)?done=already-member")
            #expect(try await CaseMember.query(on: app.db).count() == 2)
        }
    }

    @Test func addingOnePersonTwentyTimesAtOnceAddsThemOnce() async throws {
        try await withCaseTalk { app, _ in
            let world = try await CaseWorld.make(app)
            let (ben, caseID) = try await world.caseByBen()
            try await ben.get("/cases/\(caseID)")
            let cookie = try #require(ben.sessionCookie), csrf = try #require(ben.csrf), cy = world.cy.uuidString
            let answers = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let copy = Browser(app)
                        copy.useCookie(cookie)
                        return try await copy.post("/cases/\(caseID)/members", [("staff_id", cy)], csrf: csrf).location
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.filter { $0 == "/cases/\(caseID)?done=member-added" }.count == 1)
            #expect(answers.filter { $0 == "/cases/\(caseID)?done=already-member" }.count == 19, "never an error page")
            #expect(try await CaseMember.query(on: app.db).count() == 2)
            #expect(try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.memberAdded.rawValue).count() == 1)
        }
    }

    @Test func forgedStaffIdsChangeNothing() async throws {
        try await withCaseTalk { app, _ in
            let world = try await CaseWorld.make(app)
            let (ben, caseID) = try await world.caseByBen()
            for forged in [UUID().uuidString, "not-a-uuid", "", "' OR 1=1 --"] {
                let response = try await ben.post("/cases/\(caseID)/members", [("staff_id", forged)])
                #expect(response.status == .badRequest)
                #expect(response.body.string.contains("Choose a doctor or staff member"))
            }
            #expect(try await CaseMember.query(on: app.db).count() == 1)
        }
    }
}
