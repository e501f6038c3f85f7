@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// The findings of the security review that broke the privacy promise (issue 15), each
/// reproduced: a colleague redirecting the invitation (H1), a second browser finishing a
/// registration or reset someone else verified (H2), View Cases telling of a colleague's Patient
/// Talk (M1), and limits won by parallel requests (M2). Each fails on the code before the fix.
@Suite struct PrivacyPromiseTests {
    // MARK: H1 — who controls the invitation

    @Test func aMemberOfAnotherPracticeCannotRedirectOrRevokeTheInvitation() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let caseID = t.caseID
            // A fresh case of Ben's with Cy (Northside) on it and an invitation out, not yet answered.
            let (ben, other) = try await t.registration.invitations.world.caseByBen(title: "Veneers")
            try await ben.get("/cases/\(other)")
            try await ben.post("/cases/\(other)/members", [("staff_id", t.registration.invitations.world.cy.uuidString)])
            try await ben.get("/cases/\(other)/invite")
            try await ben.post("/cases/\(other)/invite", [("email", "ana@example.com"), ("confirm_email", "ana@example.com")])
            let before = try #require(try await Invitation.query(on: app.db).filter(\.$patientCase.$id == other).first())
            let mailsBefore = try await OutboxEmail.query(on: app.db).count()

            try await t.cy.get("/cases/\(other)/talk")
            let redirected = try await t.cy.post("/cases/\(other)/invite",
                                                 [("email", "cy.private@example.net"), ("confirm_email", "cy.private@example.net")])
            #expect(redirected.status == .conflict)
            #expect(redirected.body.string.contains("Only Riverside Dental, whose case this is, can send the invitation to another address."))
            let revoked = try await t.cy.post("/cases/\(other)/invitation/revoke", [])
            #expect(revoked.status == .conflict)
            let after = try #require(try await Invitation.query(on: app.db).filter(\.$patientCase.$id == other).first())
            #expect(after.email == "ana@example.com" && after.status == before.status && after.sentAt == before.sentAt)
            #expect(try await PatientCase.find(other, on: app.db)?.patientEmail == "ana@example.com")
            #expect(try await OutboxEmail.query(on: app.db).count() == mailsBefore, "no link went anywhere")

            // Resending to the address on file stays open to every member.
            #expect(try await t.cy.post("/cases/\(other)/invitation/resend", []).location == "/cases/\(other)/talk?done=resent")
            // Cy's page offers no other address and says why; the address is masked for him.
            let talk = try await t.cy.get("/cases/\(other)/talk").body.string
            #expect(!talk.contains("Send to a corrected address") && talk.contains("You can resend it to the address on file."))
            #expect(talk.contains("a•••@example.com") && !talk.contains("ana@example.com"))
            #expect(talk.contains("by Dr. Cy Moreau (Northside Surgery)"), "who sent it last")
            let overview = try await t.cy.get("/cases/\(other)").body.string
            #expect(overview.contains("a•••@example.com") && !overview.contains("ana@example.com"))
            #expect(try await ben.get("/cases/\(other)").body.string.contains("ana@example.com"), "the owning practice sees it whole")

            // The registered case shows which account answered.
            let registeredTalk = try await t.cy.get("/cases/\(caseID)/talk").body.string
            #expect(registeredTalk.contains("Registered as p•••@example.com, phone ••23, on"))
        }
    }

    @Test func theOwningPracticeChangesTheAddressAndEveryOtherMemberIsTold() async throws {
        try await withCaseTalk { app, _ in
            let w = try await InvitationWorld.make(app)
            try await w.ben.get("/cases/\(w.caseID)")
            try await w.ben.post("/cases/\(w.caseID)/members", [("staff_id", w.world.cy.uuidString)])
            try await w.invite("pat@example.com")
            try await w.invite("pat.silva@example.com")   // Ben's practice owns the case
            #expect(try await w.invitation()?.email == "pat.silva@example.com")
            #expect(try await PatientCase.find(w.caseID, on: app.db)?.patientEmail == "pat.silva@example.com")
            try await w.fx.deliver()
            let told = w.mailer.sent.filter { $0.to == "cy@northside.example" && $0.subject.contains("invitation") }
            #expect(told.count == 2, "the first address and the corrected one")
            for message in told {
                #expect(message.subject == "A patient invitation went to a new address on CaseTalk")
                #expect(!message.text.contains("pat@") && !message.text.contains("pat.silva") && !message.text.contains("Ana")
                        && !message.text.contains("Crown"))
            }
            #expect(!w.mailer.sent.contains { $0.to == "ben@riverside.example" }, "not the member who changed it")
            try await w.invite("pat.silva@example.com")
            try await w.fx.deliver()
            #expect(w.mailer.sent.filter { $0.to == "cy@northside.example" && $0.subject.contains("invitation") }.count == 2,
                    "a resend to the same address is no news")
        }
    }

    @Test func threeWrongDatesOfBirthEndTheLinkAndTellTheInvitingMember() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock, email: "stranger@example.net", answeringBirthDate: false)
            #expect(try await w.patient.get("/register").location == "/register/birth-date")
            #expect(try await w.patient.get("/register/phones").location == "/register/birth-date", "no phone step before it")
            let malformed = try await w.answerBirthDate("the 3rd")
            #expect(malformed.status == .unprocessableEntity, "not a date: not counted")
            for attempt in 1...2 {
                let wrong = try await w.answerBirthDate("1990-03-0\(attempt)")
                #expect(wrong.status == .unprocessableEntity)
                #expect(wrong.body.string.contains("That date of birth does not match what your practice has on file."))
            }
            let third = try await w.answerBirthDate("02/27/1990")
            #expect(third.status == .notFound)
            #expect(third.body.string.contains(RegistrationController.invalidMessage))
            #expect(try await w.answerBirthDate().status == .notFound, "the right answer comes too late")
            #expect(try await InvitationToken.query(on: app.db).count() == 0, "every link of the invitation ended")
            try await w.invitations.fx.deliver()
            let told = try #require(w.invitations.mailer.sent.last)
            #expect(told.to == "ben@riverside.example" && told.subject == "A patient invitation was stopped on CaseTalk")
            #expect(!told.text.contains("stranger") && !told.text.contains("1990"))
        }
    }

    @Test func twentyParallelBirthDateAnswersCountAtMostThree() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock, answeringBirthDate: false)
            try await w.patient.get("/register/birth-date")
            let cookie = w.patient.sessionCookie, csrf = w.patient.csrf
            let statuses = try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
                for day in 10...29 {
                    group.addTask {
                        // The same session, as parallel requests from one browser.
                        let tab = Browser(app)
                        tab.useCookie(cookie)
                        return try await tab.post("/register/birth-date", [("birth_date", "1991-01-\(day)")], csrf: csrf).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unprocessableEntity }.count == BirthDateCheck.allowedMisses - 1,
                    "two answers told 'does not match'; the third ended the link; the rest found it ended")
            #expect(try await w.registration()?.birthDateMisses == 3)
        }
    }

    @Test func removePatientAccessTakesTheCaseAwayAtOnce() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Before removal: unique-removal-7781", as: t.ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            #expect(try await t.pat.get("/inbox/\(id)").status == .ok)

            try await t.cy.get("/cases/\(t.caseID)/talk")
            #expect(try await t.cy.post("/cases/\(t.caseID)/patient/remove", []).status == .forbidden, "only the owning practice")
            #expect(try await t.pat.get("/inbox/\(id)").status == .ok)

            let talk = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(talk.contains("Remove patient access"))
            #expect(try await t.ben.post("/cases/\(t.caseID)/patient/remove", []).location == "/cases/\(t.caseID)/talk?done=removed")
            #expect(try await t.pat.get("/inbox/\(id)").status == .notFound, "the session that was open loses it at once")
            #expect(!(try await t.pat.get("/inbox").body.string.contains("/inbox/\(id)")))
            #expect(try await CasePatient.find(t.caseID, on: app.db) == nil)
            #expect(try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.patientAccessRemoved.rawValue).count() == 1)
            // The Secure Inbox checks the case's patient itself: a conversation still marked with
            // the patient (a stale copy of the column) lists nothing without the case_patients row.
            let patID = try #require(try await Patient.query(on: app.db).filter(\.$email == "pat@example.com").first()).requireID()
            try await ConversationsTable.setPatient(patID, ofCase: t.caseID, on: app.db)
            #expect(!(try await t.pat.get("/inbox").body.string.contains("/inbox/\(id)")))
            #expect(try await t.pat.get("/inbox/\(id)").status == .notFound)
            try await ConversationsTable.setPatient(nil, ofCase: t.caseID, on: app.db)
            // A new invitation can be sent, and a new registration joins the case.
            let again = try await t.registration.invitations.invite("pat.new@example.com")
            #expect(again.location == "/cases/\(t.caseID)/talk?done=invited")
        }
    }

    // MARK: H2 — the steps after a code belong to the browser that verified it

    @Test func aSecondBrowserWithTheSameLinkStartsAgainAndNeedsANewCode() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones()
            try await w.sendCode()
            try await w.enter(try #require(w.phones.lastCode))
            #expect(try await w.patient.get("/register").location == "/register/terms")

            // Browser B: a forwarded email, the same link.
            let b = RegistrationWorld(invitations: w.invitations, clock: clock, phones: w.phones, patient: Browser(app), email: w.email)
            try await w.invitations.open(try #require(w.invitations.mailer.tokens.last), in: b.patient)
            #expect(try await b.patient.get("/register").location == "/register/birth-date", "starts again")
            try await b.answerBirthDate()
            #expect(try await b.patient.get("/register").location == "/register/code", "a new code, to the numbers fixed")
            for path in ["/register/terms", "/register/password", "/register/phones"] {
                #expect(try await b.patient.get(path).location == "/register/code", "\(path)")
            }
            #expect(try await b.submit("/register/phones", [("mobile", "(646) 555-0100")], from: "/register/method").location == "/register/code")
            #expect(try await w.registration()?.mobileNumber == "+14155550123", "B cannot send the code to a phone of its own")
            let method = try await b.patient.get("/register/method").body.string
            #expect(method.contains("ending in 23") && !method.contains("555-0123") && !method.contains("+14155550123"),
                    "the numbers are masked")
            #expect(try await b.submit("/register/terms", [("read", "yes")], from: "/register/code").location == "/register/code")
            #expect(try await b.submit("/register/password", [("password", "mine mine mine mine"), ("confirmation", "mine mine mine mine")],
                                       from: "/register/code").location == "/register/code")

            // A finishes undisturbed.
            try await w.acceptTerms()
            #expect(try await w.setPassword().location == "/login?registered=1")
            let account = try #require(try await w.patientAccount())
            #expect(try await app.caseTalk.passwords.verify(RegistrationWorld.password, against: account.passwordHash))
        }
    }

    @Test func theLastBrowserToProveThePhoneOwnsTheLaterSteps() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones()
            try await w.sendCode()
            try await w.enter(try #require(w.phones.lastCode))
            try await w.acceptTerms()
            let b = RegistrationWorld(invitations: w.invitations, clock: clock, phones: w.phones, patient: Browser(app), email: w.email)
            try await w.invitations.open(try #require(w.invitations.mailer.tokens.last), in: b.patient)
            try await b.answerBirthDate()
            clock.advance(by: 31)
            #expect(try await b.resend().location == "/register/code?sent=again")
            #expect(try await b.enter(try #require(w.phones.lastCode)).location == "/register/terms")
            #expect(try await b.patient.get("/register").location == "/register/terms", "A's acceptance was A's, not B's")
            // A starts again: its verification no longer holds.
            #expect(try await w.patient.get("/register/password").location == "/register/birth-date")
            #expect(try await w.submit("/register/password", [("password", RegistrationWorld.password),
                                                              ("confirmation", RegistrationWorld.password)],
                                       from: "/register/birth-date").location == "/register/birth-date")
            #expect(try await w.patientAccount() == nil)
        }
    }

    @Test func aSecondBrowserCannotFinishAPasswordReset() async throws {
        try await withCaseTalk { app, clock in
            let r = try await ResetWorld.make(app, clock)
            try await r.ask()
            let token = try await r.openLatestLink()
            clock.advance(by: 31)
            try await r.sendCode()
            #expect(try await r.enter(try #require(r.phones.lastCode)).location == "/password/reset/password")

            let other = Browser(app)
            #expect(try await other.get("/password/reset/\(token)").location == "/password/reset")
            #expect(try await other.get("/password/reset").location == "/password/reset/code")
            #expect(try await other.get("/password/reset/password").location == "/password/reset/code")
            #expect(try await other.submit("/password/reset/password", [("password", "somebody else entirely"),
                                                                       ("confirmation", "somebody else entirely")],
                                           from: "/password/reset/code").location == "/password/reset/code")
            #expect(try await r.choose().location == "/login?reset=1", "the browser that proved the phone finishes")
        }
    }

    // MARK: M1 — View Cases shows a member only what they may see

    @Test func aColleaguesViewCasesIsByteIdenticalAfterAMemberWritesAndThePatientReplies() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let (_, newer) = try await t.registration.invitations.world.caseByBen(title: "Newer case")
            try await t.ben.get("/cases/\(newer)")
            try await t.ben.post("/cases/\(newer)/members", [("staff_id", t.registration.invitations.world.cy.uuidString)])
            clock.advance(by: 3 * 3600)
            // Everyone signs in again after the three hours (sessions end after 15 idle minutes).
            let cy = Browser(app), ben = Browser(app), pat = Browser(app)
            try await cy.signIn("cy@northside.example")
            try await ben.signIn("ben@riverside.example")
            try await pat.signIn("pat@example.com", password: RegistrationWorld.password)
            let cyBefore = try await cy.get("/cases").body.string
            #expect(cyBefore.contains("Crown on 14") && cyBefore.contains("Newer case"))
            let benBefore = try await ben.get("/cases").body.string

            try await t.write("A private word", as: ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            clock.advance(by: 600)
            try await pat.get("/inbox/\(id)")
            #expect(try await pat.post("/inbox/\(id)", [("body", "The patient's private answer")]).status == .seeOther)

            #expect(try await cy.get("/cases").body.string == cyBefore, "nothing of Ben's Patient Talk shows to Cy")
            let benAfter = try await ben.get("/cases").body.string
            #expect(benAfter != benBefore, "Ben's own conversation moves his list")
            let crown = try #require(benAfter.range(of: "Crown on 14")), newerRow = try #require(benAfter.range(of: "Newer case"))
            #expect(crown.lowerBound < newerRow.lowerBound, "Ben's case with the newest activity first")
        }
    }

    // MARK: M2 — limits that parallel requests cannot pass

    @Test func twentyParallelWrongGuessesPassAtMostFivePerCode() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            #expect(try await w.send() == .sent)
            let code = try #require(w.phones.lastCode)
            let outcomes = try await withThrowingTaskGroup(of: VerificationCodes.CheckOutcome.self) { group in
                for _ in 0..<20 { group.addTask { try await w.check(CodeWorld.wrong(than: code)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let checked = outcomes.filter { if case .wrong = $0 { true } else { false } }
            #expect(checked.count == CodeLimits.triesPerCode, "each of the 5 tries met the live code; the rest met none")
            let row = try #require(try await Registration.find(w.invitationID, on: app.db))
            #expect(row.codeTries == CodeLimits.triesPerCode && row.wrongStreak == CodeLimits.triesPerCode)
            #expect(try await w.check(code) == .noLiveCode, "the right code, after 5 wrong tries, is dead")
        }
    }

    @Test func twentyParallelSendsInsideTheWindowSendOneCode() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            let outcomes = try await withThrowingTaskGroup(of: VerificationCodes.SendOutcome.self) { group in
                for _ in 0..<20 { group.addTask { try await w.send() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .sent }.count == 1)
            #expect(w.phones.count == 1, "one text reached the phone")
            #expect(try await PhoneSendWindows.recentSends(w.mobile.e164, now: clock.now, on: app.db) == 1)
        }
    }

    @Test func parallelSendsToOneNumberFromManyRegistrationsStopAtFive() async throws {
        try await withCaseTalk { app, clock in
            let phones = RecordingPhones()
            app.caseTalk.phones = phones
            let w = try await InvitationWorld.make(app)
            let number = try PhoneNumber("(415) 555-0123")
            // Eight registrations typing the same number, each with a 30-second window of its own.
            var contexts: [VerificationCodes.Context] = []
            for index in 0..<8 {
                let (ben, caseID) = try await w.world.caseByBen(title: "Case \(index)", in: w.ben)
                try await ben.get("/cases/\(caseID)/invite")
                try await ben.post("/cases/\(caseID)/invite", [("email", "p\(index)@example.com"), ("confirm_email", "p\(index)@example.com")])
                let invitation = try #require(try await Invitation.query(on: app.db).filter(\.$patientCase.$id == caseID).first())
                let invitationID = try invitation.requireID()
                _ = try await PatientRegistration.row(invitationID: invitationID, now: clock.now, on: app.db)
                contexts.append(.registration(invitationID: invitationID, use: UseCaseContext(services: app.caseTalk, db: app.db, now: clock.now,
                                                                                              clientAddress: "127.0.0.1")))
            }
            let outcomes = try await withThrowingTaskGroup(of: VerificationCodes.SendOutcome.self) { group in
                for context in contexts { group.addTask { try await VerificationCodes.send(to: number, by: .sms, context) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .sent }.count == CodeLimits.sendsPerNumber)
            #expect(outcomes.filter { if case .tooManyForNumber = $0 { true } else { false } }.count == 8 - CodeLimits.sendsPerNumber)
            #expect(phones.count == CodeLimits.sendsPerNumber)
        }
    }

    @Test func parallelWrongPasswordsLockOnceAndCountNoMore() async throws {
        try await withCaseTalk { app, _ in
            let id = try await Fixtures(app: app).ada()
            let first = Browser(app)
            try await first.get("/login")
            let csrf = first.csrf, cookies = first.cookies
            let statuses = try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
                for n in 0..<15 {
                    group.addTask {
                        let tab = Browser(app)
                        tab.useCookies(cookies)
                        return try await tab.post("/login", [("email", "ada@example.com"), ("password", "wrong-\(n)")], csrf: csrf).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(!statuses.contains(.seeOther))
            let actions = try await AuditEntry.query(on: app.db).all()
            #expect(actions.filter { $0.action == AuditAction.accountLocked.rawValue }.count == 1, "one lock, not one per five guesses")
            #expect(actions.filter { $0.action == AuditAction.signInFailed.rawValue && $0.subject == "wrong-password" }.count
                    == SignInLockout.maxConsecutiveFailures, "guesses after the lock are not counted toward another")
            #expect(try await StaffUser.find(id, on: app.db)?.lockedUntil != nil)
            #expect(try await Browser(app).signIn("ada@example.com").status != .seeOther, "the right password waits for the lock")
        }
    }
}
