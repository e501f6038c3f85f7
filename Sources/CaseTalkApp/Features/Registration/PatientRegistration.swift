import CaseTalkCore
import Fluent
import Foundation

/// The registration of SPEC §3 as stored state: what each step saves, and the account it makes
/// at the end. The controller only reads forms and shows pages.
enum PatientRegistration {
    /// Where a registration stands, as loaded for one request from its session.
    struct State: Sendable {
        let invitation: Invitation
        let invitationID: UUID
        let caseID: UUID
        let email: EmailAddress
        let memberName: String
        let practiceName: String
        let patientName: String
        /// The case's date of birth, asked before the phone step when there is one (SPEC §3).
        let birthDate: CalendarDate?
        /// The session this request came with (its row id): the steps after the code are its own.
        let sessionID: String
        /// Nil until the first step is saved: opening pages stores nothing.
        let registration: Registration?
        /// The numbers saved in step 1, read once from the row.
        let numbers: PhoneNumbers

        init(invitation: Invitation, invitationID: UUID, caseID: UUID, email: EmailAddress, memberName: String,
             practiceName: String, patientName: String, birthDate: CalendarDate?, sessionID: String, registration: Registration?) {
            self.invitation = invitation; self.invitationID = invitationID; self.caseID = caseID; self.email = email
            self.memberName = memberName; self.practiceName = practiceName; self.patientName = patientName
            self.birthDate = birthDate; self.sessionID = sessionID
            self.registration = registration
            numbers = PhoneNumbers(storedMobile: registration?.mobileNumber, home: registration?.homeNumber,
                                   work: registration?.workNumber)
        }

        var progress: RegistrationProgress {
            RegistrationProgress(birthDateAsked: birthDate != nil,
                                 birthDateConfirmed: registration?.birthDateSession == sessionID,
                                 phonesSaved: registration?.phonesSavedAt != nil,
                                 phonesOwned: registration?.phonesSession == sessionID,
                                 codeSent: registration?.codeNumber != nil,
                                 codeVerified: registration?.verifiedAt != nil && registration?.verifiedSession == sessionID
                                     && invitation.status == .codeVerified,
                                 termsAccepted: registration?.termsAcceptedAt != nil)
        }

        /// The route (method and which number) the last code went by.
        var lastRoute: CodeRoute? {
            CodeRoute.last(sentTo: registration?.codeNumber, channel: registration?.codeChannel, in: numbers)
        }

        /// What the code pages show.
        var codeSubject: StepPages.CodeSubject {
            .init(numbers: numbers, lastRoute: lastRoute, lastSentAt: registration?.lastSentAt, lockedUntil: registration?.lockedUntil)
        }
    }

    /// Why a registration cannot go on in this session.
    enum Stop: Sendable {
        /// No invitation link in the session, or it no longer works.
        case invalid
        /// A patient account already has the invitation's address: sign in to accept.
        case existingAccount(email: String, memberName: String, practiceName: String)
        /// The address belongs to a staff account; one address is one account.
        case staffAddress
    }

    enum Loaded: Sendable {
        case going(State)
        case stopped(Stop)
    }

    /// The registration the session's invitation link stands for.
    static func load(session: CurrentSession?, _ use: UseCaseContext) async throws -> Loaded {
        let db = use.db
        guard let session, let hash = session.registrationTokenHash,
              let invitation = try await Invitations.live(tokenHash: hash, now: use.now, on: db),
              let email = try? EmailAddress(invitation.email) else { return .stopped(.invalid) }
        let invitationID = try invitation.requireID()
        guard let member = try await StaffUser.query(on: db).filter(\.$id == invitation.$invitedBy.id).with(\.$practice).first(),
              let patientCase = try await PatientCase.find(invitation.$patientCase.id, on: db) else { return .stopped(.invalid) }
        if try await StaffUser.query(on: db).filter(\.$email == email.value).count() > 0 {
            return .stopped(.staffAddress)
        }
        if try await Patient.query(on: db).filter(\.$email == email.value).count() > 0 {
            return .stopped(.existingAccount(email: email.value, memberName: member.name, practiceName: member.practice.name))
        }
        return .going(State(invitation: invitation, invitationID: invitationID, caseID: patientCase.id!, email: email,
                            memberName: member.name, practiceName: member.practice.name,
                            patientName: patientCase.patientName,
                            birthDate: patientCase.patientDateOfBirth.flatMap(CalendarDate.init(iso:)), sessionID: session.idHash,
                            registration: try await Registration.find(invitationID, on: db)))
    }

    // MARK: Steps

    enum BirthDateOutcome: Sendable {
        case confirmed
        /// Wrong; `ended` once it was the third wrong answer and the link no longer works.
        case wrong(ended: Bool)
    }

    /// The date of birth step: the answer is compared with the case's, and counted in one
    /// statement that only passes while fewer than 3 wrong answers were given, so parallel
    /// answers cannot win more tries. The third wrong answer ends every link of the invitation
    /// and tells the inviting member by email (content-free).
    static func checkBirthDate(_ answer: CalendarDate, _ state: State, _ use: UseCaseContext) async throws -> BirthDateOutcome {
        guard let birthDate = state.birthDate else { return .confirmed }
        let services = use.services, now = use.now, db = use.db
        _ = try await row(invitationID: state.invitationID, now: now, on: db)
        let right = answer == birthDate
        return try await db.transaction { tx in
            let audit = { (action: AuditAction) in
                try await use.on(tx).audit(action, actor: .anonymous, subject: "invitation:\(state.invitationID)")
            }
            guard let misses = try await RegistrationsTable.answerBirthDate(right: right, sessionID: state.sessionID,
                                                                            invitationID: state.invitationID, on: tx) else {
                return .wrong(ended: true)
            }
            if right {
                try await audit(.birthDateConfirmed)
                return .confirmed
            }
            guard misses >= BirthDateCheck.allowedMisses else {
                try await audit(.birthDateRejected)
                return .wrong(ended: false)
            }
            try await InvitationsTable.deleteLinks(of: state.invitationID, on: tx)
            if let member = try await StaffUser.find(state.invitation.$invitedBy.id, on: tx) {
                let message = StaffEmails.invitationEnded(to: member.email, from: services.config.mailFrom,
                                                          link: Paths.patientTalk(state.caseID).url(base: services.config.publicBaseURL))
                try await Outbox.enqueue(message, kind: .invitationEnded, relatedID: state.invitationID, sealer: services.sealer,
                                         at: now, on: tx)
            }
            try await audit(.invitationEndedByBirthDate)
            return .wrong(ended: true)
        }
    }

    /// Step 1. Only the session that typed the numbers may change them, and only before a code
    /// is verified (one conditional statement). A change of numbers also retires the code sent
    /// to the old ones (the wrong-code count and any lock stay). False when the numbers are
    /// fixed by now.
    static func savePhones(_ numbers: PhoneNumbers, _ state: State, _ use: UseCaseContext) async throws -> Bool {
        let now = use.now
        let registration = try await row(invitationID: state.invitationID, now: now, on: use.db)
        let retireCode = state.numbers != numbers && registration.codeNumber != nil
        return try await use.db.transaction { tx in
            guard try await RegistrationsTable.savePhones(mobile: numbers.mobile?.e164, home: numbers.home?.e164, work: numbers.work?.e164,
                                                          at: now, sessionID: state.sessionID, retireCode: retireCode,
                                                          invitationID: state.invitationID, on: tx) else { return false }
            try await use.on(tx).audit(.phonesSaved, actor: .anonymous, subject: "invitation:\(state.invitationID) numbers:\(numbers.all.count)")
            return true
        }
    }

    /// Step 4. Records the version, time, address and browser of the acceptance (SPEC §3).
    static func acceptTerms(_ terms: TermsOfUse, _ state: State, _ use: UseCaseContext) async throws {
        let now = use.now, agent = use.userAgent
        try await use.db.transaction { tx in
            try await Registration.query(on: tx).filter(\.$id == state.invitationID)
                .filter(\.$verifiedAt != nil).filter(\.$verifiedSession == state.sessionID)
                .set(\.$termsVersion, to: terms.version)
                .set(\.$termsAcceptedAt, to: now)
                .set(\.$termsClientAddress, to: use.clientAddress)
                .set(\.$termsUserAgent, to: agent)
                .update()
            try await use.on(tx).audit(.termsAccepted, actor: .anonymous, subject: "invitation:\(state.invitationID) version:\(terms.version)",
                                       userAgent: agent)
        }
    }

    enum Completion: Sendable {
        /// `deviceToken` remembers the browser that registered (it proved the phone minutes ago).
        case created(email: String, deviceToken: String)
        /// Someone finished this registration a moment ago, or an account took the address.
        case alreadyDone
    }

    /// Step 5: makes the patient account, joins it to the case, marks the invitation registered and
    /// retires its links, all in one transaction that only one request can win.
    static func complete(_ state: State, passwordHash: String, _ use: UseCaseContext) async throws -> Completion {
        guard let registration = state.registration, let verified = registration.codeNumber,
              let termsVersion = registration.termsVersion, let termsAcceptedAt = registration.termsAcceptedAt else {
            return .alreadyDone
        }
        let now = use.now
        let patient = Patient(email: state.email.value, name: state.patientName, passwordHash: passwordHash,
                              mobileNumber: registration.mobileNumber, homeNumber: registration.homeNumber,
                              workNumber: registration.workNumber, verifiedNumber: verified, termsVersion: termsVersion,
                              termsAcceptedAt: termsAcceptedAt, createdAt: now)
        do {
            return try await use.db.transaction { tx in
                // Only the session that verified the code finishes, once: its binding is used up here.
                guard try await RegistrationsTable.useBinding(sessionID: state.sessionID, invitationID: state.invitationID, on: tx),
                      try await InvitationsTable.markRegistered(state.invitationID, from: [.codeVerified], at: now, on: tx)
                else { return .alreadyDone }
                try await patient.create(on: tx)
                try await join(caseID: state.caseID, invitationID: state.invitationID, patientID: patient.id!, now: now, on: tx)
                try await use.on(tx).audit(.patientRegistered, actor: .patient(patient.id!),
                                           subject: "invitation:\(state.invitationID) case:\(state.caseID)")
                let deviceToken = try await RememberedBrowsers.remember(patientID: patient.id!, now: now, on: tx)
                return .created(email: patient.email, deviceToken: deviceToken)
            }
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // The address's account was made by another invitation's registration at the same time.
            return .alreadyDone
        }
    }

    /// The existing-account path (SPEC §3): after signing in, the invitation opened in this
    /// session joins the case to the account, if the account has the invited address. True when
    /// the case was added.
    static func acceptIntoAccount(tokenHash: String, patientID: UUID, _ use: UseCaseContext) async throws -> Bool {
        let now = use.now
        guard let invitation = try await Invitations.live(tokenHash: tokenHash, now: now, on: use.db),
              let patient = try await Patient.find(patientID, on: use.db), patient.email == invitation.email else { return false }
        let invitationID = try invitation.requireID()
        return try await use.db.transaction { tx in
            guard try await InvitationsTable.markRegistered(invitationID, from: [.sent, .opened, .codeVerified], at: now, on: tx) else {
                return false
            }
            try await join(caseID: invitation.$patientCase.id, invitationID: invitationID, patientID: patientID, now: now, on: tx)
            try await use.on(tx).audit(.invitationAccepted, actor: .patient(patientID),
                                       subject: "invitation:\(invitationID) case:\(invitation.$patientCase.id)")
            return true
        }
    }

    /// When staff resend, correct or revoke an invitation, a registration begun from the old link
    /// starts again from the first step: the new link may reach someone else. The wrong-code
    /// count and any lock are kept.
    static func restart(invitationID: UUID, on db: any Database) async throws {
        try await Registration.query(on: db).filter(\.$id == invitationID)
            .set(\.$mobileNumber, to: nil).set(\.$homeNumber, to: nil).set(\.$workNumber, to: nil)
            .set(\.$phonesSavedAt, to: nil)
            .set(\.$codeHMAC, to: nil).set(\.$codeNumber, to: nil).set(\.$codeChannel, to: nil).set(\.$codeExpiresAt, to: nil)
            .set(\.$verifiedAt, to: nil).set(\.$verifiedSession, to: nil).set(\.$phonesSession, to: nil)
            .set(\.$birthDateSession, to: nil).set(\.$birthDateMisses, to: nil)
            .set(\.$termsVersion, to: nil).set(\.$termsAcceptedAt, to: nil)
            .set(\.$termsClientAddress, to: nil).set(\.$termsUserAgent, to: nil)
            .update()
    }

    // MARK: Helpers

    /// The case joins the patient's account, and every link of the invitation stops working.
    private static func join(caseID: UUID, invitationID: UUID, patientID: UUID, now: Date, on tx: any Database) async throws {
        try await CasePatient(caseID: caseID, patientID: patientID, joinedAt: now).create(on: tx)
        // Conversations written before the patient joined now list in their Secure Inbox.
        try await ConversationsTable.setPatient(patientID, ofCase: caseID, on: tx)
        try await InvitationsTable.deleteLinks(of: invitationID, on: tx)
    }

    /// The registration row of the invitation, made on first use.
    static func row(invitationID: UUID, now: Date, on db: any Database) async throws -> Registration {
        if let existing = try await Registration.find(invitationID, on: db) { return existing }
        do {
            let created = Registration(invitationID: invitationID, now: now)
            try await created.create(on: db)
            return created
        } catch {
            // Made by a parallel request a moment ago (the insert hit the primary key)?
            guard let database = error as? any DatabaseError, database.isConstraintFailure,
                  let existing = try await Registration.find(invitationID, on: db) else { throw error }
            return existing
        }
    }
}
