@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Ben's case with a recording mailer; Ben invites through the forms.
struct InvitationWorld {
    let world: CaseWorld
    let ben: Browser
    let caseID: UUID
    let mailer: RecordingMailer
    var app: Application { world.app }
    var fx: Fixtures { Fixtures(app: world.app) }

    static func make(_ app: Application, script: [DeliveryOutcome] = []) async throws -> InvitationWorld {
        let mailer = RecordingMailer(script: script)
        app.caseTalk.mailer = mailer
        let world = try await CaseWorld.make(app)
        let (ben, caseID) = try await world.caseByBen(title: "Crown on 14")
        return InvitationWorld(world: world, ben: ben, caseID: caseID, mailer: mailer)
    }

    @discardableResult
    func invite(_ email: String, confirm: String? = nil) async throws -> TestingHTTPResponse {
        try await ben.get("/cases/\(caseID)/invite")
        return try await ben.post("/cases/\(caseID)/invite", [("email", email), ("confirm_email", confirm ?? email)])
    }

    @discardableResult
    func action(_ name: String) async throws -> TestingHTTPResponse {
        try await ben.get("/cases/\(caseID)/talk")
        return try await ben.post("/cases/\(caseID)/invitation/\(name)", [])
    }

    /// The Patient Talk tab as Ben sees it, signing in again if the clock has ended his session.
    func talk() async throws -> String {
        var page = try await ben.get("/cases/\(caseID)/talk")
        if page.status == .seeOther {
            try await ben.signIn("ben@riverside.example")
            page = try await ben.get("/cases/\(caseID)/talk")
        }
        return page.body.string
    }

    func invitation() async throws -> Invitation? {
        try await Invitation.query(on: app.db).filter(\.$patientCase.$id == caseID).first()
    }

    /// Opens a link as the patient's browser; returns the response.
    func open(_ token: String, in browser: Browser? = nil) async throws -> TestingHTTPResponse {
        try await (browser ?? Browser(app)).get("/register/\(token)")
    }
}

@Suite struct InviteFormRouteTests {
    @Test func mistakesAreNamedAndNothingIsSaved() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            let mismatch = try await w.invite("pat@example.com", confirm: "pat@example.org")
            #expect(mismatch.status == .unprocessableEntity)
            #expect(mismatch.body.string.contains("The two email addresses do not match."))
            let invalid = try await w.invite("pat@", confirm: "pat@")
            #expect(invalid.body.string.contains("Enter a valid email address"))
            let header = try await w.invite("pat@example.com\r\nBcc: x@evil.example")
            #expect(header.status == .unprocessableEntity)
            #expect(try await w.fx.count(Invitation.self) == 0)
            #expect(try await w.fx.count(OutboxEmail.self) == 0)
        }
    }

    @Test func nonMembersCannotInviteResendOrRevoke() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            try await w.invite("pat@example.com")
            let cy = Browser(app)
            try await cy.signIn("cy@northside.example")
            try await cy.get("/cases")
            for path in ["invite", "invitation/resend", "invitation/revoke"] {
                let response = try await cy.post("/cases/\(w.caseID)/\(path)", [("email", "x@example.com"), ("confirm_email", "x@example.com")])
                #expect(response.status == .notFound, "\(path)")
            }
            #expect(try await cy.get("/cases/\(w.caseID)/invite").status == .notFound)
            #expect(try await w.invitation()?.email == "pat@example.com")
            #expect(try await w.fx.count(OutboxEmail.self) == 1)
        }
    }
}

@Suite struct InvitationRaceTests {
    @Test func simultaneousInvitesLeaveOneInvitationAndNoServerError() async throws {
        try await withCaseTalk { app, clock in
            let w = try await InvitationWorld.make(app)
            try await w.ben.get("/cases/\(w.caseID)?q=moreau")
            try await w.ben.post("/cases/\(w.caseID)/members", [("staff_id", w.world.cy.uuidString)])
            let caseID = w.caseID
            // Six browsers signed in first, half a minute apart (each sign-in takes a TOTP step);
            // then the invitations race.
            var signedIn: [[String: String]] = []
            for n in 0..<6 {
                clock.advance(by: 30)
                let member = Browser(app)
                try await member.signIn(n % 2 == 0 ? "ben@riverside.example" : "cy@northside.example")
                signedIn.append(member.cookies)
            }
            let cookies = signedIn
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for (n, jar) in cookies.enumerated() {
                    group.addTask {
                        let member = Browser(app)
                        member.useCookies(jar)
                        try await member.get("/cases/\(caseID)/invite")
                        let address = "pat\(n)@example.com"
                        return try await member.post("/cases/\(caseID)/invite", [("email", address), ("confirm_email", address)]).status
                    }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .seeOther || $0 == .conflict }, "\(statuses)")
            #expect(try await w.fx.count(Invitation.self) == 1)
            #expect(try await w.fx.count(InvitationToken.self) == 1, "only the last link is live")
        }
    }
}

@Suite struct InvitationLifecycleTests {
    @Test func theEmailCarriesOneLinkThatIsStoredOnlyAsAHash() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            let response = try await w.invite("Pat@Example.com")
            #expect(response.location == "/cases/\(w.caseID)/talk?done=invited")

            // Before delivery the outbox holds the email sealed: the link is not readable there.
            let queued = try #require(try await OutboxEmail.query(on: app.db).first())
            #expect(queued.sealedMessage.hasPrefix(app.caseTalk.sealer.currentKeyID + ":"))
            #expect(!queued.sealedMessage.contains("register"))

            #expect(try await w.fx.deliver() == 1)
            let email = try #require(w.mailer.sent.first)
            let token = try #require(w.mailer.tokens.first)
            #expect(email.to == "pat@example.com")
            #expect(email.subject == "Test Practice invited you to CaseTalk" || email.subject.contains("invited you to CaseTalk"))
            #expect(email.text.contains("Dr. Ben Stone at Riverside Dental"))
            #expect(email.html.contains("/register/\(token)"))
            #expect(email.text.components(separatedBy: "http").count == 2, "one link")
            for secret in ["Crown on 14", "Upper right", "Ana", "Silva", "1990"] {
                #expect(!email.text.contains(secret) && !email.html.contains(secret) && !email.subject.contains(secret), "\(secret)")
            }

            let stored = try await InvitationToken.query(on: app.db).all()
            #expect(stored.map(\.id) == [Digest.sha256Hex(token)])
            let delivered = try #require(try await OutboxEmail.find(queued.id, on: app.db))
            #expect(delivered.status == .sent)
            #expect(delivered.sealedMessage.isEmpty, "delivered content is wiped")
        }
    }

    @Test func openingMarksOpenedMovesTheTokenOutOfTheURLAndDoesNotUseItUp() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            try await w.invite("pat@example.com")
            try await w.fx.deliver()
            let token = try #require(w.mailer.tokens.first)

            let patient = Browser(app)
            let opened = try await w.open(token, in: patient)
            #expect(opened.status == .seeOther)
            #expect(opened.location == "/register")
            #expect(try await w.invitation()?.status == .opened)
            let start = try await patient.get("/register")
            #expect(start.status == .seeOther)
            #expect(start.location == "/register/birth-date", "the first step: the case has a date of birth")
            let welcome = try await patient.get("/register/birth-date")
            #expect(welcome.status == .ok)
            #expect(welcome.body.string.contains("Dr. Ben Stone at Riverside Dental"))
            #expect(try await w.open(token).status == .seeOther, "opening again still works")
            #expect(try await Browser(app).get("/register").status == .notFound, "no link in this session")

            #expect(try await w.talk().contains("Opened"))
            let opens = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.invitationOpened.rawValue).count()
            #expect(opens == 1, "opened is recorded once")
        }
    }

    @Test(arguments: ["", "short", String(repeating: "A", count: 43), String(repeating: "%", count: 43)])
    func unknownLinksShowThePlainPage(token: String) async throws {
        try await withCaseTalk { app, _ in
            let response = try await Browser(app).get("/register/\(token.isEmpty ? "x" : token)")
            #expect(response.status == .notFound)
            #expect(response.body.string.contains(RegistrationController.invalidMessage))
        }
    }

    @Test func resendAndCorrectionReplaceTheLink() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            try await w.invite("pat@example.com")
            try await w.fx.deliver()
            #expect(try await w.action("resend").location == "/cases/\(w.caseID)/talk?done=resent")
            try await w.fx.deliver()
            try await w.invite("pat.silva@example.org")  // the corrected address
            try await w.fx.deliver()

            let tokens = w.mailer.tokens
            #expect(tokens.count == 3)
            #expect(w.mailer.sent.map(\.to) == ["pat@example.com", "pat@example.com", "pat.silva@example.org"])
            #expect(try await w.open(tokens[0]).status == .notFound)
            #expect(try await w.open(tokens[1]).status == .notFound)
            #expect(try await w.open(tokens[2]).status == .seeOther)
            #expect(try await w.fx.count(Invitation.self) == 1, "one invitation per case")
            let actions = try await AuditEntry.query(on: app.db).sort(\.$id).all().map(\.action).filter { $0.hasPrefix("invitation.") }
            #expect(actions == ["invitation.created", "invitation.resent", "invitation.corrected", "invitation.opened"])
        }
    }

    @Test func revokeKillsTheLink() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            try await w.invite("pat@example.com")
            try await w.fx.deliver()
            #expect(try await w.action("revoke").location == "/cases/\(w.caseID)/talk?done=revoked")
            #expect(try await w.open(try #require(w.mailer.tokens.first)).status == .notFound)
            #expect(try await w.talk().contains("Revoked"))
            let again = try await w.action("resend")
            #expect(again.status == .conflict)
            #expect(again.body.string.contains("There is no invitation to resend."))
            try await w.invite("pat@example.com")
            try await w.fx.deliver()
            #expect(try await w.open(w.mailer.tokens.last!).status == .seeOther, "inviting again after a revoke works")
        }
    }

    @Test func linksExpireAfterFourteenDays() async throws {
        try await withCaseTalk { app, clock in
            let w = try await InvitationWorld.make(app)
            try await w.invite("pat@example.com")
            try await w.fx.deliver()
            let token = try #require(w.mailer.tokens.first)
            clock.advance(by: 14 * 24 * 3600 - 1)
            #expect(try await w.open(token).status == .seeOther)
            clock.advance(by: 1)
            #expect(try await w.open(token).status == .notFound)
            #expect(try await w.talk().contains("Expired"))
        }
    }

    @Test func remindersOnDayThreeAndTenEachWithAWorkingLink() async throws {
        try await withCaseTalk { app, clock in
            let w = try await InvitationWorld.make(app)
            try await w.invite("pat@example.com")
            try await w.fx.deliver()
            let day: TimeInterval = 24 * 3600
            func remind() async throws {
                try await InvitationReminders.sendDue(db: app.db, services: app.caseTalk, now: clock.now)
                try await w.fx.deliver()
            }
            clock.advance(by: 3 * day - 60)
            try await remind()
            #expect(w.mailer.sent.count == 1, "not before day 3")
            clock.advance(by: 60)
            try await remind()
            try await remind()
            #expect(w.mailer.sent.count == 2, "one reminder on day 3")
            #expect(w.mailer.sent[1].subject.hasPrefix("Reminder:"))
            clock.advance(by: 7 * day)
            try await remind()
            clock.advance(by: 3 * day)
            try await remind()
            #expect(w.mailer.sent.count == 3, "one more on day 10, then none")
            for token in w.mailer.tokens { #expect(try await w.open(token).status == .seeOther) }
        }
    }

    @Test func noRemindersOnceRevoked() async throws {
        try await withCaseTalk { app, clock in
            let w = try await InvitationWorld.make(app)
            try await w.invite("pat@example.com")
            try await w.action("revoke")
            clock.advance(by: 4 * 24 * 3600)
            try await InvitationReminders.sendDue(db: app.db, services: app.caseTalk, now: clock.now)
            #expect(try await OutboxEmail.query(on: app.db).filter(\.$kind == "reminder").count() == 0)
        }
    }
}

@Suite struct OutboxTests {
    @Test func failuresAreRetriedWithBackoffAndShownToTheMember() async throws {
        try await withCaseTalk { app, clock in
            let w = try await InvitationWorld.make(app, script: [.retry(reason: "could not reach the mail server"),
                                                                .retry(reason: "could not reach the mail server")])
            try await w.invite("pat@example.com")
            try await w.fx.deliver()
            #expect(try await w.talk().contains("Delivery failed, retrying"))
            clock.advance(by: 29)
            #expect(try await w.fx.deliver() == 0, "not due before 30 s")
            clock.advance(by: 1)
            #expect(try await w.fx.deliver() == 1)
            clock.advance(by: 59)
            #expect(try await w.fx.deliver() == 0, "then 60 s")
            clock.advance(by: 1)
            try await w.fx.deliver()
            #expect(w.mailer.sent.count == 1)
            let row = try #require(try await OutboxEmail.query(on: app.db).first())
            #expect(row.status == .sent)
            #expect(row.attempts == 3)
            #expect(try await w.talk().contains("handed to the mail server"))
        }
    }

    @Test func aRefusedEmailIsReportedNotRetried() async throws {
        try await withCaseTalk { app, clock in
            let w = try await InvitationWorld.make(app, script: [.rejected(reason: "the mail server answered 550 to RCPT")])
            try await w.invite("pat@example.com")
            try await w.fx.deliver()
            clock.advance(by: 3600)
            #expect(try await w.fx.deliver() == 0)
            #expect(try await w.talk().contains("could not be delivered"))
        }
    }

    @Test func concurrentWorkersSendEachEmailOnce() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            for n in 0..<5 { try await w.invite("pat\(n)@example.com") }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await Fixtures(app: app).deliver() } }
                try await group.waitForAll()
            }
            // Five queued emails (an invitation and four corrections), each sent exactly once.
            #expect(w.mailer.sent.map(\.to).sorted() == (0..<5).map { "pat\($0)@example.com" })
            #expect(try await OutboxEmail.query(on: app.db).filter(\.$status == .sent).count() == 5)
        }
    }

    @Test func aWorkerThatDiesMidSendIsTakenOverOnceItsLeaseEnds() async throws {
        try await withCaseTalk { app, clock in
            let w = try await InvitationWorld.make(app)
            try await w.invite("pat@example.com")
            // A worker claims the email and dies before recording anything.
            #expect(try await Outbox.claimDue(db: app.db, now: clock.now).count == 1)
            #expect(try await w.fx.deliver() == 0, "a restarted worker leaves a claimed email alone")
            clock.advance(by: Outbox.lease + 1)
            #expect(try await w.fx.deliver() == 1)
            try await w.fx.deliver()
            #expect(w.mailer.sent.count == 1)
        }
    }

    @Test func addingAColleagueEmailsThemALinkAndNoPatientDetails() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            try await w.ben.get("/cases/\(w.caseID)?q=moreau")
            try await w.ben.post("/cases/\(w.caseID)/members", [("staff_id", w.world.cy.uuidString)])
            try await w.fx.deliver()
            let email = try #require(w.mailer.sent.first)
            #expect(email.to == "cy@northside.example")
            #expect(email.text.contains("/cases/\(w.caseID)"))
            #expect(email.text.contains("Dr. Ben Stone at Riverside Dental"))
            for secret in ["Crown on 14", "Ana", "Silva"] { #expect(!email.text.contains(secret) && !email.html.contains(secret)) }
        }
    }
}

@Suite struct DevelopmentMailboxTests {
    @Test func developmentMailboxShowsWhatWasSent() async throws {
        try await withCaseTalk(adjust: { $0.isDevelopment = true }) { app, _ in
            let world = try await CaseWorld.make(app)
            let (ben, caseID) = try await world.caseByBen()
            try await ben.get("/cases/\(caseID)/invite")
            try await ben.post("/cases/\(caseID)/invite", [("email", "pat@example.com"), ("confirm_email", "pat@example.com")])
            try await Fixtures(app: app).deliver()
            let list = try await Browser(app).get("/dev/mailbox")
            #expect(list.status == .ok)
            #expect(list.body.string.contains("pat@example.com"))
        }
    }

    /// Review M3: only development serves `/dev/mailbox`, even where mail has nowhere real to go.
    @Test func testingHasNoDevelopmentMailboxEither() async throws {
        try await withCaseTalk { app, _ in
            let response = try await Browser(app).get("/dev/mailbox")
            #expect(app.caseTalk.config.usesDevelopmentMailbox, "mail is caught")
            #expect(response.status == .notFound, "but not shown")
        }
    }

    @Test func productionHasNoDevelopmentMailbox() async throws {
        let smtp = try SMTPSettings(url: "smtp://127.0.0.1:1")
        let production: (inout AppConfig) -> Void = { config in
            config.isProduction = true
            config.smtp = smtp
            config.twilio = .init(accountSID: "AC", authToken: "t", fromNumber: "+15550100")
        }
        try await withCaseTalk(adjust: production) { app, _ in
            let response = try await Browser(app).get("/dev/mailbox")
            #expect(response.status == .notFound)
            #expect(app.caseTalk.mailer is SMTPMailer)
        }
    }
}
