@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// A patient with an invitation link open in their browser, and the codes their phone receives.
struct RegistrationWorld {
    let invitations: InvitationWorld
    let clock: TestClock
    let phones: RecordingPhones
    let patient: Browser
    let email: String
    var app: Application { invitations.app }
    static let password = "correct horse battery staple"

    /// The date of birth on the test case (`CaseWorld.caseByBen`).
    static let birthDate = "1990-02-28"

    /// Opens the link in a new browser and, unless `answeringBirthDate` is false, answers the
    /// case's date of birth, so the patient stands at Phone numbers.
    static func make(_ app: Application, _ clock: TestClock, email: String = "pat@example.com",
                     answeringBirthDate: Bool = true) async throws -> RegistrationWorld {
        let phones = RecordingPhones()
        app.caseTalk.phones = phones
        let invitations = try await InvitationWorld.make(app)
        try await invitations.invite(email)
        try await invitations.fx.deliver()
        let patient = Browser(app)
        let token = try #require(invitations.mailer.tokens.last)
        try await invitations.open(token, in: patient)
        let world = RegistrationWorld(invitations: invitations, clock: clock, phones: phones, patient: patient, email: email)
        if answeringBirthDate {
            #expect(try await world.answerBirthDate().location == "/register/phones")
        }
        return world
    }

    @discardableResult func answerBirthDate(_ date: String = Self.birthDate) async throws -> TestingHTTPResponse {
        try await submit("/register/birth-date", [("birth_date", date)])
    }

    var invitationID: UUID { get async throws { try #require(try await invitations.invitation()?.id) } }

    func registration() async throws -> Registration? { try await Registration.find(try await invitationID, on: app.db) }

    /// GETs `path` (for its CSRF token) and posts `fields` to it.
    @discardableResult
    func submit(_ path: String, _ fields: [(String, String)], from page: String? = nil) async throws -> TestingHTTPResponse {
        try await patient.submit(path, fields, from: page)
    }

    @discardableResult func savePhones(mobile: String = "(415) 555-0123", home: String = "", work: String = "") async throws -> TestingHTTPResponse {
        try await submit("/register/phones", [("mobile", mobile), ("home", home), ("work", work)])
    }

    @discardableResult func sendCode(_ route: String = "sms-mobile") async throws -> TestingHTTPResponse {
        try await submit("/register/method", [("route", route)])
    }

    @discardableResult func enter(_ code: String) async throws -> TestingHTTPResponse {
        try await submit("/register/code", [("code", code)])
    }

    @discardableResult func resend() async throws -> TestingHTTPResponse {
        try await submit("/register/code/resend", [], from: "/register/code")
    }

    @discardableResult func acceptTerms(_ fields: [(String, String)] = [("scrolled", "yes")]) async throws -> TestingHTTPResponse {
        try await submit("/register/terms", fields)
    }

    @discardableResult func setPassword(_ password: String = Self.password, confirmation: String? = nil) async throws -> TestingHTTPResponse {
        try await submit("/register/password", [("password", password), ("confirmation", confirmation ?? password)])
    }

    /// Phones, SMS, the right code, Terms: up to the password step.
    func verifyAndAccept() async throws {
        try await savePhones()
        try await sendCode()
        try await enter(try #require(phones.lastCode))
        try await acceptTerms()
    }

    func patientAccount() async throws -> Patient? {
        try await Patient.query(on: app.db).filter(\.$email == email).first()
    }

    func auditActions() async throws -> [String] {
        try await AuditEntry.query(on: app.db).sort(\.$id).all().map(\.action)
    }
}

@Suite struct RegistrationFlowTests {
    @Test func theWholeFlowMakesAnAccountAndLeadsToSignInWithTheEmailFilledIn() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            let start = try await w.patient.get("/register")
            #expect(start.location == "/register/phones")

            let phones = try await w.savePhones(mobile: "(415) 555-0123", home: "212.555.0199")
            #expect(phones.status == .seeOther)
            #expect(phones.location == "/register/method")
            let stored = try #require(try await w.registration())
            #expect(stored.mobileNumber == "+14155550123" && stored.homeNumber == "+12125550199" && stored.workNumber == nil)

            let method = try await w.patient.get("/register/method")
            #expect(method.body.string.contains("Text message (SMS) to your mobile number"))
            #expect(method.body.string.contains("Voice call to your home number"))
            let sent = try await w.sendCode("sms-mobile")
            #expect(sent.location == "/register/code")
            let codePage = try await w.patient.get("/register/code")
            #expect(codePage.body.string.contains("by text message to your mobile number ending in 23"))
            #expect(codePage.body.string.contains("data-countdown=\"30\""))

            let cookieBefore = w.patient.sessionCookie
            let verified = try await w.enter(try #require(w.phones.lastCode))
            #expect(verified.location == "/register/terms")
            #expect(w.patient.sessionCookie != cookieBefore, "a new session id after the code (step-up)")
            #expect(try await w.invitations.invitation()?.status == .codeVerified)

            let terms = try await w.patient.get("/register/terms")
            #expect(terms.body.string.contains("I Accept"))
            #expect(terms.body.string.contains("I have read the Terms of Use"))
            #expect(terms.body.string.contains(app.caseTalk.termsOfUse.sections[0].heading!))
            let accepted = try await w.acceptTerms([("read", "yes")])
            #expect(accepted.location == "/register/password")
            let evidence = try #require(try await w.registration())
            #expect(evidence.termsVersion == app.caseTalk.termsOfUse.version && evidence.termsAcceptedAt == clock.now)
            #expect(evidence.termsClientAddress != nil && evidence.termsUserAgent != nil)

            // The server applies the rules itself; a refusal changes nothing.
            let weak = try await w.setPassword("password1234")
            #expect(weak.status == .unprocessableEntity)
            #expect(weak.body.string.contains("That password is too common"))
            let mismatch = try await w.setPassword(RegistrationWorld.password, confirmation: "something else entirely")
            #expect(mismatch.body.string.contains("The two passwords do not match."))
            let named = try await w.setPassword("pat-is-my-name-here")
            #expect(named.status == .unprocessableEntity)
            #expect(named.body.string.contains("must not contain the name part of your email address"))
            #expect(try await w.patientAccount() == nil)

            let done = try await w.setPassword()
            #expect(done.status == .seeOther)
            #expect(done.location == "/login?registered=1", "no email in the URL")
            let signIn = try await w.patient.get(try #require(done.location))
            #expect(signIn.body.string.contains("value=\"pat@example.com\""), "the email is filled in")
            #expect(signIn.body.string.contains("Your account is ready"))

            let account = try #require(try await w.patientAccount())
            #expect(account.passwordHash.hasPrefix("$scrypt$"))
            #expect(account.verifiedNumber == "+14155550123" && account.mobileNumber == "+14155550123")
            #expect(account.name == "Ana Silva")
            #expect(try await w.invitations.invitation()?.status == .registered)
            #expect(try await CasePatient.find(w.invitations.caseID, on: app.db)?.$patient.id == account.id)
            #expect(try await InvitationToken.query(on: app.db).count() == 0, "the links are used up")
            #expect(try await w.invitations.talk().contains("Registered"))

            let portal = try await w.patient.signIn("pat@example.com", password: RegistrationWorld.password)
            #expect(portal.location == "/portal")
            let home = try await w.patient.get("/portal")
            #expect(home.status == .ok)
            #expect(home.body.string.contains("Riverside Dental") && home.body.string.contains("Crown on 14"))

            let actions = try await w.auditActions()
            for action in [AuditAction.phonesSaved, .codeSent, .codeVerified, .termsAccepted, .patientRegistered, .signInSucceeded] {
                #expect(actions.contains(action.rawValue), "audited: \(action.rawValue)")
            }
            let termsEntry = try #require(try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.termsAccepted.rawValue).first())
            #expect(termsEntry.subject.contains("version:\(app.caseTalk.termsOfUse.version)"))
            // Review M5: the browser string, attacker-chosen text, is a field of its own.
            #expect(termsEntry.userAgent == Browser.userAgent && !termsEntry.subject.contains(Browser.userAgent))
        }
    }

    @Test func stepsCannotBeSkippedByURL() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            // Nothing done yet: every later step, read or posted, goes back to the first.
            for path in ["/register/method", "/register/code", "/register/terms", "/register/password"] {
                #expect(try await w.patient.get(path).location == "/register/phones", "GET \(path)")
            }
            #expect(try await w.submit("/register/terms", [("read", "yes")], from: "/register/phones").location == "/register/phones")
            #expect(try await w.submit("/register/password", [("password", RegistrationWorld.password),
                                                              ("confirmation", RegistrationWorld.password)],
                                       from: "/register/phones").location == "/register/phones")
            #expect(try await w.submit("/register/code", [("code", "123456")], from: "/register/phones").location == "/register/phones")
            #expect(try await w.registration()?.phonesSavedAt == nil, "opening and skipping store nothing")

            try await w.savePhones()
            for path in ["/register/code", "/register/terms", "/register/password"] {
                #expect(try await w.patient.get(path).location == "/register/method", "GET \(path) before a code is sent")
            }
            try await w.sendCode()
            #expect(try await w.patient.get("/register/terms").location == "/register/code")
            #expect(try await w.submit("/register/terms", [("read", "yes")], from: "/register/code").location == "/register/code")
            #expect(try await w.registration()?.termsAcceptedAt == nil)
            #expect(try await w.submit("/register/password", [("password", RegistrationWorld.password),
                                                              ("confirmation", RegistrationWorld.password)],
                                       from: "/register/code").location == "/register/code")
            #expect(try await w.patientAccount() == nil)

            try await w.enter(try #require(w.phones.lastCode))
            // Verified: the phone step is closed (the verified number is fixed); Terms come first.
            for path in ["/register/phones", "/register/method", "/register/code", "/register/password"] {
                #expect(try await w.patient.get(path).location == "/register/terms", "GET \(path) after verifying")
            }
            #expect(try await w.submit("/register/phones", [("mobile", "(646) 555-0100")], from: "/register/terms").location == "/register/terms")
            #expect(try await w.registration()?.mobileNumber == "+14155550123")
            #expect(try await w.patientAccount() == nil)
        }
    }

    @Test func phoneMistakesAreNamedAndNothingIsStored() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            let none = try await w.savePhones(mobile: "", home: " ", work: "")
            #expect(none.status == .unprocessableEntity)
            #expect(none.body.string.contains("Enter at least one phone number."))
            let bad = try await w.savePhones(mobile: "(415) 555-0123", home: "555-0123", work: "<script>")
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.body.string.contains("Home: Enter a 10-digit US number"))
            #expect(bad.body.string.contains("Work: Use only digits"))
            #expect(!bad.body.string.contains("<script>"), "what was typed comes back escaped")
            #expect(try await w.registration()?.phonesSavedAt == nil)
        }
    }

    @Test func textMessagesGoOnlyToMobileNumbers() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones(mobile: "", home: "(415) 555-0123")
            let page = try await w.patient.get("/register/method")
            #expect(page.body.string.contains("Voice call to your home number"))
            #expect(!page.body.string.contains("Text message (SMS)"))
            for route in ["sms-home", "sms-mobile", "voice-work", "fax-home", ""] {
                let refused = try await w.sendCode(route)
                #expect(refused.status == .unprocessableEntity, "\(route)")
                #expect(refused.body.string.contains("Choose how we should send your code."))
            }
            #expect(w.phones.count == 0)
            #expect(try await w.sendCode("voice-home").location == "/register/code")
            #expect(w.phones.sends.last?.1 == "+14155550123" && w.phones.sends.last?.2 == .voice)
        }
    }

    @Test func reSendCodeWaitsThirtySecondsAndKillsTheOldCode() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones()
            try await w.sendCode()
            let first = try #require(w.phones.lastCode)
            clock.advance(by: 10)
            let early = try await w.resend()
            #expect(early.status == .tooManyRequests)
            #expect(early.headers.first(name: .retryAfter) == "20")
            #expect(early.body.string.contains("Please wait 20 seconds"))
            #expect(w.phones.count == 1)

            clock.advance(by: 20)
            let again = try await w.resend()
            #expect(again.location == "/register/code?sent=again")
            #expect(try await w.patient.get("/register/code?sent=again").body.string.contains("The previous code no longer works."))
            #expect(w.phones.count == 2 && w.phones.sends.last?.2 == .sms, "the same way as before")
            let second = try #require(w.phones.lastCode)
            if first != second {
                let old = try await w.enter(first)
                #expect(old.status == .unprocessableEntity)
                #expect(old.body.string.contains("That code is not right."))
            }
            #expect(try await w.enter(second).location == "/register/terms")
        }
    }

    @Test func changeDeliveryMethodSendsByTheOtherWay() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones(mobile: "(415) 555-0123", work: "(212) 555-0199")
            try await w.sendCode("sms-mobile")
            let code = try await w.patient.get("/register/code")
            #expect(code.body.string.contains("Change Delivery Method"))
            #expect(try await w.patient.get("/register/method").status == .ok, "step 2 may be revisited before verifying")
            clock.advance(by: 30)
            #expect(try await w.sendCode("voice-work").location == "/register/code")
            #expect(w.phones.sends.last?.1 == "+12125550199" && w.phones.sends.last?.2 == .voice)
            #expect(try await w.patient.get("/register/code").body.string.contains("by voice call to your work number ending in 99"))
        }
    }

    @Test func aProviderFailureIsShownAndNotCounted() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones()
            w.phones.fail(true)
            let failed = try await w.sendCode()
            #expect(failed.status == .badGateway)
            #expect(failed.body.string.contains("We couldn&#39;t send the code — try again or choose another method"))
            #expect(failed.body.string.contains("Voice call to your mobile number"), "the other method is offered")
            #expect(try await PhoneSendWindows.recentSends("+14155550123", now: clock.now, on: app.db) == 0, "not counted against the patient")
            #expect(try await w.registration()?.lastSentAt == nil)
            w.phones.fail(false)
            #expect(try await w.sendCode("voice-mobile").location == "/register/code", "no wait after a failure")
        }
    }

    @Test func tenWrongCodesLockWithRetryAfterAndTheRightCodeIsRefused() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones()
            try await w.sendCode()
            for _ in 0..<5 { try await w.enter(CodeWorld.wrong(than: try #require(w.phones.lastCode))) }
            clock.advance(by: 30)
            try await w.resend()
            let live = try #require(w.phones.lastCode)
            for _ in 0..<4 { #expect(try await w.enter(CodeWorld.wrong(than: live)).status == .unprocessableEntity) }
            let locked = try await w.enter(CodeWorld.wrong(than: live))
            #expect(locked.status == .tooManyRequests)
            #expect(locked.headers.first(name: .retryAfter) == "900")
            #expect(locked.body.string.contains("Too many wrong codes"))
            #expect(try await w.enter(live).status == .tooManyRequests, "the right code is refused while locked")
            clock.advance(by: 60)
            #expect(try await w.resend().status == .tooManyRequests, "no sends while locked either")
            #expect(try await w.invitations.invitation()?.status != .codeVerified)
        }
    }

    @Test func malformedCodesAreExplainedAndNotCounted() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones()
            try await w.sendCode()
            for bad in ["", "12345", "abcdef", "1234567", String(repeating: "9", count: 5000)] {
                let response = try await w.enter(bad)
                #expect(response.status == .unprocessableEntity)
                #expect(response.body.string.contains("Enter the 6 digits"))
            }
            #expect(try await w.registration()?.wrongStreak == 0)
        }
    }

    @Test func parallelCompletionsMakeOneAccount() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.verifyAndAccept()
            try await w.patient.get("/register/password")
            let cookie = try #require(w.patient.sessionCookie), csrf = try #require(w.patient.csrf)
            let statuses = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let browser = Browser(app)
                        browser.useCookie(cookie)
                        return try await browser.post("/register/password", [("password", RegistrationWorld.password),
                                                                             ("confirmation", RegistrationWorld.password)],
                                                      csrf: csrf).location
                    }
                }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == "/login?registered=1" }.count == 1, "\(statuses)")
            #expect(try await Patient.query(on: app.db).count() == 1)
            #expect(try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.patientRegistered.rawValue).count() == 1)
        }
    }

    @Test func aReinvitationStartsTheRegistrationAgainButKeepsTheWrongCodeCount() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.savePhones()
            try await w.sendCode()
            try await w.enter(CodeWorld.wrong(than: try #require(w.phones.lastCode)))
            try await w.enter(try #require(w.phones.lastCode))
            #expect(try await w.patient.get("/register").location == "/register/terms")

            try await w.invitations.invite("pat@example.org")   // a corrected address
            #expect(try await w.patient.get("/register").status == .notFound, "the old link's session is over")
            try await w.invitations.fx.deliver()
            let fresh = Browser(app)
            try await w.invitations.open(try #require(w.invitations.mailer.tokens.last), in: fresh)
            #expect(try await fresh.get("/register").location == "/register/birth-date", "the new address's owner starts at step 1")
            let row = try #require(try await w.registration())
            #expect(row.verifiedAt == nil && row.mobileNumber == nil && row.codeHMAC == nil)
        }
    }
}

@Suite struct ExistingAccountTests {
    /// Registers pat@example.com for Ben's first case, then invites the same address to a second case.
    static func registeredPatientWithSecondInvitation(_ app: Application, _ clock: TestClock) async throws -> (RegistrationWorld, UUID, String) {
        let w = try await RegistrationWorld.make(app, clock)
        try await w.verifyAndAccept()
        try await w.setPassword()
        let (ben, secondCase) = try await w.invitations.world.caseByBen(title: "Implant review")
        try await ben.get("/cases/\(secondCase)/invite")
        try await ben.post("/cases/\(secondCase)/invite", [("email", "pat@example.com"), ("confirm_email", "pat@example.com")])
        try await w.invitations.fx.deliver()
        return (w, secondCase, try #require(w.invitations.mailer.tokens.last))
    }

    @Test func anExistingPatientSignsInToAcceptAndTheCaseJoinsTheirAccount() async throws {
        try await withCaseTalk { app, clock in
            let (w, secondCase, token) = try await Self.registeredPatientWithSecondInvitation(app, clock)
            let browser = Browser(app)
            try await w.invitations.open(token, in: browser)
            let page = try await browser.get("/register")
            #expect(page.status == .ok)
            #expect(page.body.string.contains("You already have a CaseTalk account"))
            #expect(page.body.string.contains("href=\"/login\""))
            for path in ["/register/phones", "/register/method", "/register/password"] {
                #expect(try await browser.get(path).body.string.contains("You already have a CaseTalk account"), "\(path)")
            }
            let signIn = try await browser.get("/login")
            #expect(signIn.body.string.contains("value=\"pat@example.com\""), "the email is filled in")

            // A browser not seen before: the code to the verified phone comes first, then the case joins.
            let password = try await browser.post("/login", [("email", "pat@example.com"), ("password", RegistrationWorld.password)])
            #expect(password.location == "/login/verify/method")
            let signedIn = try await browser.secondStep(after: password, email: "pat@example.com")
            #expect(signedIn.location == "/portal?joined=1")
            let patient = try #require(try await w.patientAccount())
            #expect(try await CasePatient.find(secondCase, on: app.db)?.$patient.id == patient.id)
            let invitation = try #require(try await Invitation.query(on: app.db).filter(\.$patientCase.$id == secondCase).first())
            #expect(invitation.status == .registered)
            let home = try await browser.get("/portal?joined=1")
            #expect(home.body.string.contains("Implant review") && home.body.string.contains("Crown on 14"))
            #expect(try await w.auditActions().contains(AuditAction.invitationAccepted.rawValue))
            #expect(try await browser.get("/register/\(token)").status == .notFound, "the link is used up")
        }
    }

    @Test func aSignedInPatientAcceptsWithOneButton() async throws {
        try await withCaseTalk { app, clock in
            let (w, secondCase, token) = try await Self.registeredPatientWithSecondInvitation(app, clock)
            // Someone else's invitation, opened while signed in as pat: no button takes it.
            let (ben, thirdCase) = try await w.invitations.world.caseByBen(title: "Whitening")
            try await ben.get("/cases/\(thirdCase)/invite")
            try await ben.post("/cases/\(thirdCase)/invite", [("email", "sam@example.com"), ("confirm_email", "sam@example.com")])
            try await w.invitations.fx.deliver()
            let samsToken = try #require(w.invitations.mailer.tokens.last)

            let browser = Browser(app)
            try await browser.signIn("pat@example.com", password: RegistrationWorld.password)
            try await w.invitations.open(samsToken, in: browser)
            #expect(!(try await browser.get("/register/birth-date").body.string.contains(">Accept</button>")), "sam registers as usual")
            #expect(try await browser.post("/register/accept", []).location == "/register")
            #expect(try await CasePatient.find(thirdCase, on: app.db) == nil)

            try await w.invitations.open(token, in: browser)
            let page = try await browser.get("/register")
            #expect(page.body.string.contains(">Accept</button>"))
            #expect(try await browser.post("/register/accept", []).location == "/portal?joined=1")
            #expect(try await CasePatient.find(secondCase, on: app.db) != nil)
        }
    }

    @Test func signingInToAnotherAccountDoesNotTakeTheInvitation() async throws {
        try await withCaseTalk { app, clock in
            let (w, secondCase, _) = try await Self.registeredPatientWithSecondInvitation(app, clock)
            // A third case invites someone else; pat opens that link and signs in as herself.
            let (ben, thirdCase) = try await w.invitations.world.caseByBen(title: "Whitening")
            try await ben.get("/cases/\(thirdCase)/invite")
            try await ben.post("/cases/\(thirdCase)/invite", [("email", "sam@example.com"), ("confirm_email", "sam@example.com")])
            try await w.invitations.fx.deliver()
            let browser = Browser(app)
            try await w.invitations.open(try #require(w.invitations.mailer.tokens.last), in: browser)
            let signedIn = try await browser.signIn("pat@example.com", password: RegistrationWorld.password)
            #expect(signedIn.location == "/portal")
            #expect(try await CasePatient.find(thirdCase, on: app.db) == nil)
            #expect(try await CasePatient.find(secondCase, on: app.db) == nil, "not accepted without its own link either")
        }
    }

    @Test func oneAddressIsOneAccountAcrossStaffAndPatients() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock, email: "dee@riverside.example", answeringBirthDate: false)
            let page = try await w.patient.get("/register")
            #expect(page.status == .conflict)
            #expect(page.body.string.contains("A CaseTalk staff account already uses this email address"))
            #expect(try await w.registration() == nil)
        }
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.verifyAndAccept()
            try await w.setPassword()
            let practice = try await Fixtures(app: app).practice("Another")
            await #expect(throws: ValidationError.self) {
                try await Fixtures(app: app).staff("pat@example.com", name: "Pat", practice: practice)
            }
        }
    }

    @Test func patientsAndStaffStayOnTheirOwnPages() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            try await w.verifyAndAccept()
            try await w.setPassword()
            try await w.patient.signIn("pat@example.com", password: RegistrationWorld.password)
            #expect(try await w.patient.get("/cases").status == .seeOther, "a patient is not staff")
            #expect(try await w.patient.get("/cases/\(w.invitations.caseID)").status == .seeOther)
            #expect(try await w.patient.get("/login").location == "/portal")
            #expect(try await w.invitations.ben.get("/portal").status == .seeOther, "staff are not patients")
            #expect(try await Browser(app).get("/portal").location == "/login?next=/portal")

            // Five wrong passwords lock a patient account as they lock staff accounts.
            let stranger = Browser(app)
            for _ in 0..<5 { try await stranger.signIn("pat@example.com", password: "wrong wrong wrong") }
            let refused = try await stranger.signIn("pat@example.com", password: RegistrationWorld.password)
            #expect(refused.status == .unauthorized)
            #expect(refused.body.string.contains(SignInController.failureMessage))
        }
    }
}

@Suite struct RegistrationLogTests {
    /// The whole registration, with its failures (a wrong code, a provider failure, a weak
    /// password), then a password reset, log by route pattern only: no code, token, number,
    /// password, address or cookie.
    @Test func nothingFromTheRegistrationReachesTheLogs() async throws {
        let capture = LogCapture.shared
        let before = capture.all.count
        var secrets: [String] = []
        try await withCaseTalk(adjust: { $0.requestLogLevel = .info }) { app, clock in
            let email = "logcheck.patient@example.com"
            let w = try await RegistrationWorld.make(app, clock, email: email)
            let token = try #require(w.invitations.mailer.tokens.last)
            try await w.savePhones(mobile: "(646) 555-0187", home: "+44 20 7946 0958")
            w.phones.fail(true)
            try await w.sendCode("voice-home")
            w.phones.fail(false)
            try await w.sendCode("sms-mobile")
            let code = try #require(w.phones.lastCode)
            try await w.enter(CodeWorld.wrong(than: code))
            try await w.enter(code)
            try await w.acceptTerms()
            let password = "zebra-lantern-orbit-9183"
            try await w.setPassword("password1234")
            try await w.setPassword(password)
            try await w.patient.signIn(email, password: password)
            try await w.patient.get("/portal")

            // Then Forgot password?, the whole way.
            let reset = Browser(app)
            try await reset.get("/password/forgot")
            try await reset.post("/password/forgot", [("email", email)])
            try await w.invitations.fx.deliver()
            let resetToken = try #require(w.invitations.mailer.tokens(after: "/password/reset/").last)
            try await reset.get("/password/reset/\(resetToken)")
            try await reset.get("/password/reset/method")
            try await reset.post("/password/reset/method", [("route", "sms-mobile")])
            try await reset.get("/password/reset/code")
            try await reset.post("/password/reset/code", [("code", try #require(w.phones.lastCode))])
            let newPassword = "kettle-harbour-violet-5521"
            try await reset.get("/password/reset/password")
            #expect(try await reset.post("/password/reset/password", [("password", newPassword), ("confirmation", newPassword)])
                .location == "/login?reset=1")
            secrets = [token, Digest.sha256Hex(token), "+16465550187", "6465550187", "555-0187", "+442079460958", "7946 0958",
                       password, "password1234", email, "logcheck.patient", try #require(w.patient.sessionCookie),
                       resetToken, Digest.sha256Hex(resetToken), newPassword]
            secrets.append(contentsOf: w.phones.sends.map(\.0))
        }
        let lines = Array(capture.all.dropFirst(before))
        #expect(lines.contains { $0.contains("POST /register/code") }, "the capture sees this test's requests")
        for secret in secrets {
            let pattern = "(?<![0-9A-Za-z])" + NSRegularExpression.escapedPattern(for: secret) + "(?![0-9A-Za-z])"
            let leaks = lines.filter { $0.range(of: pattern, options: .regularExpression) != nil }
            #expect(leaks.isEmpty, "a secret reached the log: \(leaks.prefix(3))")
        }
    }
}
