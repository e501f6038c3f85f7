@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Ben's case with Cy (another practice) as a second member, its patient Pat registered, and
/// Quinn, a patient of another case.
struct TalkWorld {
    let registration: RegistrationWorld
    let caseID: UUID
    let ben: Browser
    let cy: Browser
    let pat: Browser
    let quinn: Browser
    var app: Application { registration.app }

    static func make(_ app: Application, _ clock: TestClock) async throws -> TalkWorld {
        let w = try await RegistrationWorld.make(app, clock)
        let caseID = w.invitations.caseID
        let ben = w.invitations.ben
        try await ben.get("/cases/\(caseID)")
        try await ben.post("/cases/\(caseID)/members", [("staff_id", w.invitations.world.cy.uuidString)])
        try await w.verifyAndAccept()
        try await w.setPassword()
        let pat = Browser(app)
        try await pat.signIn("pat@example.com", password: RegistrationWorld.password)

        // Quinn: a patient of Ben's second case.
        let (_, secondCase) = try await w.invitations.world.caseByBen(title: "Whitening")
        try await ben.get("/cases/\(secondCase)/invite")
        try await ben.post("/cases/\(secondCase)/invite", [("email", "quinn@example.com"), ("confirm_email", "quinn@example.com")])
        try await w.invitations.fx.deliver()
        let quinnRegistration = Browser(app)
        try await w.invitations.open(try #require(w.invitations.mailer.tokens.last), in: quinnRegistration)
        let q = RegistrationWorld(invitations: w.invitations, clock: clock, phones: w.phones, patient: quinnRegistration, email: "quinn@example.com")
        try await q.savePhones(mobile: "(212) 555-0144")
        clock.advance(by: 31)
        try await q.sendCode()
        try await q.enter(try #require(w.phones.lastCode))
        try await q.acceptTerms()
        try await q.setPassword()
        let quinn = Browser(app)
        try await quinn.signIn("quinn@example.com", password: RegistrationWorld.password)

        let cy = Browser(app)
        try await cy.signIn("cy@northside.example")
        return TalkWorld(registration: w, caseID: caseID, ben: ben, cy: cy, pat: pat, quinn: quinn)
    }

    @discardableResult
    func write(_ text: String, as member: Browser) async throws -> TestingHTTPResponse {
        try await member.get("/cases/\(caseID)/talk")
        return try await member.post("/cases/\(caseID)/talk", [("body", text)])
    }

    func conversation(of memberID: UUID) async throws -> Conversation? {
        try await Conversation.query(on: app.db).filter(\.$caseID == caseID).filter(\.$memberID == memberID).first()
    }
}

@Suite struct MessagingTests {
    @Test func aMessageReachesOnlyItsPatientAndTheReplyOnlyItsMember() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let sent = try await t.write("Your crown is ready.\nPlease call us.", as: t.ben)
            #expect(sent.location == "/cases/\(t.caseID)/talk?done=message")
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben))

            let home = try await t.pat.get("/portal")
            #expect(home.body.string.contains("1 unread"))
            let inbox = try await t.pat.get("/inbox")
            #expect(inbox.body.string.contains("Dr. Ben Stone") && inbox.body.string.contains("Riverside Dental"))
            #expect(inbox.body.string.contains("Crown on 14"))
            let thread = try await t.pat.get("/inbox/\(conversation.id!)")
            #expect(thread.status == .ok)
            #expect(thread.body.string.contains("Your crown is ready.\nPlease call us."))
            #expect(try await t.ben.get("/cases/\(t.caseID)/talk").body.string.contains("Read "), "the member sees it was read")

            let reply = try await t.pat.post("/inbox/\(conversation.id!)", [("body", "Thanks, <b>calling</b> tomorrow.")])
            #expect(reply.location == "/inbox/\(conversation.id!)?sent=1")
            let benTalk = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(benTalk.contains("Thanks, &lt;b&gt;calling&lt;/b&gt; tomorrow."), "shown as text, never as HTML")

            // Cy is on the same case: his Patient Talk is his own, and empty.
            let cyTalk = try await t.cy.get("/cases/\(t.caseID)/talk")
            #expect(cyTalk.status == .ok)
            #expect(!cyTalk.body.string.contains("crown is ready") && !cyTalk.body.string.contains("calling"))
            #expect(cyTalk.body.string.contains("No messages yet."))
            #expect(try await t.conversation(of: t.registration.invitations.world.cy) == nil)
        }
    }

    /// The privacy rule (SPEC §1) for the routes that read and write conversations: only Ben and
    /// Pat reach Ben's conversation; everyone else gets 404, or the sign-in page when signed out.
    @Test func onlyTheMemberAndThePatientReachAConversation() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Private note for Pat.", as: t.ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            let world = t.registration.invitations.world

            #expect(try await t.pat.get("/inbox/\(id)").status == .ok)
            // Another patient, forged and malformed ids.
            #expect(try await t.quinn.get("/inbox/\(id)").status == .notFound)
            try await t.quinn.get("/inbox")
            #expect(try await t.quinn.post("/inbox/\(id)", [("body", "hello")]).status == .notFound)
            #expect(!(try await t.quinn.get("/inbox").body.string.contains("Dr. Ben Stone")))
            #expect(try await t.pat.get("/inbox/\(UUID())").status == .notFound)
            #expect(try await t.pat.get("/inbox/not-an-id").status == .notFound)
            // A patient cannot start a conversation: Cy has not written, so there is none to answer.
            #expect(try await Conversation.query(on: app.db).count() == 1)

            // Staff are not patients: the inbox sends them to sign in; nobody signed out gets in.
            #expect(try await t.ben.get("/inbox/\(id)").location?.hasPrefix("/login") == true)
            #expect(try await Browser(app).get("/inbox/\(id)").location?.hasPrefix("/login") == true)

            // The practice admin and a staff member of Ben's practice are not on the case.
            for email in ["ada@riverside.example", "dee@riverside.example"] {
                let outsider = Browser(app)
                try await outsider.signIn(email)
                #expect(try await outsider.get("/cases/\(t.caseID)/talk").status == .notFound, "\(email)")
                try await outsider.get("/cases")
                #expect(try await outsider.post("/cases/\(t.caseID)/talk", [("body", "hi")]).status == .notFound, "\(email)")
            }
            _ = world
            let messages = try await Message.query(on: app.db).count()
            #expect(messages == 1, "nothing was added by the refused requests")
        }
    }

    @Test func messageBodiesAreSealedAtRest() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let text = "Biopsy result: benign, unique-marker-8271"
            try await t.write(text, as: t.ben)
            struct Row: Decodable { let id: UUID; let key_id: String; let body_sealed: String }
            let row = try #require(try await app.db.sql.select().columns("id", "key_id", "body_sealed").from("messages")
                .first(decoding: Row.self))
            #expect(row.key_id == Sealer.keyID)
            #expect(!row.body_sealed.contains("unique-marker-8271") && !row.body_sealed.contains("Biopsy"))
            #expect(String(decoding: try app.caseTalk.sealer.open(row.body_sealed, context: row.id.uuidString), as: UTF8.self) == text)
            #expect(throws: (any Error).self, "bound to its own row") {
                try app.caseTalk.sealer.open(row.body_sealed, context: UUID().uuidString)
            }
            // Nowhere else either: not in the audit trail, the outbox or any other text column.
            let audit = try await AuditEntry.query(on: app.db).all().map(\.subject).joined()
            #expect(!audit.contains("unique-marker-8271"))
        }
    }

    @Test func badMessagesAreExplainedAndStoreNothing() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            for (body, message) in [("   ", "Enter the message."), (String(repeating: "a", count: 5001), "at most 5000 characters"),
                                    ("bidi \u{202E}txt", "not allowed")] {
                let response = try await t.write(body, as: t.ben)
                #expect(response.status == .unprocessableEntity)
                #expect(response.body.string.contains(message))
            }
            #expect(try await Message.query(on: app.db).count() == 0)
        }
    }

    @Test func notificationsCarryALinkOnlyAndComeAtMostEveryFifteenMinutes() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let mailer = t.registration.invitations.mailer
            let fx = t.registration.invitations.fx
            try await fx.deliver()
            let before = mailer.sent.count
            try await t.write("Your biopsy came back clear.", as: t.ben)
            clock.advance(by: 60)
            try await t.write("Second note about the crown.", as: t.ben)
            try await fx.deliver()
            let toPat = mailer.sent.dropFirst(before).filter { $0.to == "pat@example.com" }
            #expect(toPat.count == 1, "one notification per 15 minutes")
            let email = try #require(toPat.first)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            #expect(email.subject == "You have a new secure message from Riverside Dental")
            #expect(email.text.contains("/inbox/\(id)"))
            for secret in ["biopsy", "clear", "crown", "Crown on 14", "Ana", "Silva"] {
                #expect(!email.text.contains(secret) && !email.html.contains(secret), "no \(secret) in the email")
            }

            clock.advance(by: 15 * 60)
            // Fifteen idle minutes end sessions too: both sign in again.
            try await t.ben.signIn("ben@riverside.example")
            try await t.pat.signIn("pat@example.com", password: RegistrationWorld.password)
            try await t.write("Third.", as: t.ben)
            try await fx.deliver()
            #expect(mailer.sent.dropFirst(before).filter { $0.to == "pat@example.com" }.count == 2)

            try await t.pat.get("/inbox/\(id)")
            try await t.pat.post("/inbox/\(id)", [("body", "Thank you, the pain is gone.")])
            try await fx.deliver()
            let toBen = try #require(mailer.sent.dropFirst(before).last { $0.to == "ben@riverside.example" })
            #expect(toBen.text.contains("/cases/\(t.caseID)/talk"))
            #expect(!toBen.text.contains("pain") && !toBen.html.contains("pain"))
            #expect(mailer.sent.dropFirst(before).filter { $0.to == "cy@northside.example" }.isEmpty, "only that member")
        }
    }

    @Test func viewCasesCountsOnlyTheMembersOwnUnreadReplies() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("How is the crown?", as: t.ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            try await t.pat.get("/inbox/\(id)")
            try await t.pat.post("/inbox/\(id)", [("body", "Fine.")])
            try await t.pat.get("/inbox/\(id)")
            try await t.pat.post("/inbox/\(id)", [("body", "Really fine.")])
            func unreadCell(_ browser: Browser) async throws -> String {
                let html = try await browser.get("/cases").body.string
                guard let row = html.range(of: "Crown on 14") else { return "" }
                let rest = html[row.upperBound...]
                return String(rest[rest.range(of: "Unread replies\">")!.upperBound...].prefix(60))
            }
            #expect(try await unreadCell(t.ben).hasPrefix("<span class=\"badge\">2</span>"))
            #expect(try await unreadCell(t.cy).hasPrefix("<span class=\"muted\">0</span>"), "a colleague sees nothing of it")
            try await t.ben.get("/cases/\(t.caseID)/talk")
            #expect(try await unreadCell(t.ben).hasPrefix("<span class=\"muted\">0</span>"), "opening the talk reads them")
        }
    }

    /// A patient who follows the notification link signs in and lands on that conversation.
    @Test func theNotificationLinkLeadsThroughSignInToTheMessage() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Please read this.", as: t.ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            let browser = Browser(app)
            let bounced = try await browser.get("/inbox/\(id)")
            #expect(bounced.location == "/login?next=/inbox/\(id)")
            try await browser.get(try #require(bounced.location))
            let signedIn = try await browser.post("/login", [("email", "pat@example.com"), ("password", RegistrationWorld.password),
                                                             ("next", "/inbox/\(id)")])
            #expect(signedIn.location == "/inbox/\(id)")
            for hostile in ["//evil.example/inbox", "https://evil.example", "/\\evil.example", "/%2F%2Fevil.example", "javascript:alert(1)"] {
                let other = Browser(app)
                try await other.get("/login")
                let response = try await other.post("/login", [("email", "pat@example.com"), ("password", RegistrationWorld.password),
                                                               ("next", hostile)])
                #expect(response.location == "/portal", "\(hostile)")
            }
        }
    }
}
