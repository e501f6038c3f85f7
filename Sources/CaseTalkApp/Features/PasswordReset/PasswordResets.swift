import CaseTalkCore
import Fluent
import Foundation

/// Forgot password? (SPEC §4) as stored state: the emailed link, the code to the verified phone
/// (through `VerificationCodes`), and the new password, which ends every other session, lifts the
/// sign-in lock and tells the patient by email.
enum PasswordResets {
    /// A link works for 30 minutes.
    static let linkLifetime: TimeInterval = 30 * 60
    /// At most 3 reset emails per account per hour, so the form cannot be used to flood a mailbox
    /// (counted on the account row, one conditional update each: `AccountsTable.takeResetEmail`).
    static let emailsPerHour = 3

    /// The Forgot password? form. Every well-formed address gets the same work here (review L1: a
    /// patient's address answered measurably slower): its request is stored, sealed, with an audit
    /// entry, in one transaction; the background worker then looks the address up (`handleDue`).
    static func request(_ email: EmailAddress, _ use: UseCaseContext) async throws {
        let id = UUID()
        let sealed = try use.services.sealer.seal(Array(email.value.utf8), context: SealedData.resetRequestContext(id))
        try await use.db.transaction { tx in
            try await PasswordResetsTable.addRequest(id: id, emailSealed: sealed, clientAddress: use.clientAddress, now: use.now, on: tx)
            try await use.on(tx).audit(.resetRequested, actor: .anonymous, subject: "reset-request:\(id)")
        }
    }

    /// Handles the stored requests, oldest first: each in one transaction that takes it (so two
    /// servers never handle one twice) and does what it asks, or, if anything fails, leaves it for
    /// the next round without holding up the requests after it. Returns how many were handled.
    @discardableResult
    static func handleDue(services: CaseTalkServices, now: Date, on db: any Database, logger: Logger,
                          limit: Int = 50) async throws -> Int {
        let due = try await PasswordResetsTable.dueRequests(limit: limit, on: db)
        var handled = 0
        for row in due {
            let took: Bool
            do {
                took = try await db.transaction { tx -> Bool in
                    guard try await PasswordResetsTable.takeRequest(id: row.id, on: tx) else { return false }
                    let address = String(decoding: try services.sealer.open(row.emailSealed, context: SealedData.resetRequestContext(row.id)),
                                         as: UTF8.self)
                    try await fulfil(try EmailAddress(address), request: row.id, clientAddress: row.clientAddress,
                                     services: services, now: now, on: tx)
                    return true
                }
            } catch {
                logger.error("password reset request could not be handled; kept for the next round",
                             metadata: ["request_id": .string(row.id.uuidString), "error": .string(String(reflecting: type(of: error)))])
                continue
            }
            if took { handled += 1 }
        }
        return handled
    }

    /// What a request asks, once the address is looked up: a patient gets the link, staff a note on
    /// how their password is reset, an unknown address nothing (all audited).
    private static func fulfil(_ email: EmailAddress, request: UUID, clientAddress: String, services: CaseTalkServices,
                               now: Date, on db: any Database) async throws {
        func audit(_ actor: AuditActor, _ subject: String) async throws {
            try await Audit.record(.resetRequestHandled, actor: actor, subject: "reset-request:\(request) \(subject)",
                                   clientAddress: clientAddress, at: now, key: services.auditKey, on: db)
        }
        if let patient = try await Patient.query(on: db).filter(\.$email == email.value).first() {
            let patientID = try patient.requireID()
            guard try await AccountsTable.takeResetEmail(.patient(patientID), limit: emailsPerHour, window: 3600, now: now, on: db) else {
                return try await audit(.patient(patientID), "limited")
            }
            let token = SecureRandom.token()
            let reset = PasswordReset()
            reset.id = UUID()
            reset.$patient.id = patientID
            reset.tokenHash = Digest.sha256Hex(token)
            reset.createdAt = now
            reset.expiresAt = now.addingTimeInterval(linkLifetime)
            reset.codeTries = 0
            // A new link does not buy new guesses: the wrong-code count and any lock carry over.
            let previous = try await PasswordReset.query(on: db).filter(\.$patient.$id == patientID)
                .sort(\.$createdAt, .descending).first()
            reset.wrongStreak = previous?.wrongStreak ?? 0
            reset.lockedUntil = previous?.lockedUntil
            reset.lockCount = previous?.lockCount ?? 0
            let message = AccountEmails.resetLink(to: patient.email, from: services.config.mailFrom,
                                                  link: Paths.resetLink(token: token).url(base: services.config.publicBaseURL))
            try await PasswordResetsTable.closeOpen(patientID: patientID, now: now, on: db)
            try await reset.create(on: db)
            try await Outbox.enqueue(message, kind: .passwordReset, relatedID: reset.id, sealer: services.sealer, at: now, on: db)
            try await audit(.patient(patientID), "password-reset:\(reset.id!)")
        } else if let staff = try await StaffUser.query(on: db).filter(\.$email == email.value).filter(\.$deactivatedAt == nil).first() {
            let staffID = try staff.requireID()
            guard try await AccountsTable.takeResetEmail(.staff(staffID), limit: emailsPerHour, window: 3600, now: now, on: db) else {
                return try await audit(.staff(staffID), "limited")
            }
            let message = AccountEmails.staffReset(to: staff.email, from: services.config.mailFrom)
            try await Outbox.enqueue(message, kind: .passwordResetStaff, relatedID: staffID, sealer: services.sealer, at: now, on: db)
            try await audit(.staff(staffID), "staff-account")
        } else {
            try await audit(.anonymous, "unknown-account")
        }
    }

    /// A reset in progress, as loaded for one request from its session.
    struct State: Sendable {
        let reset: PasswordReset
        let resetID: UUID
        let patientID: UUID
        let email: EmailAddress
        /// Only the verified number, under the kind it was registered as.
        let numbers: PhoneNumbers
        /// The session this request came with (its row id).
        let sessionID: String

        var codeSent: Bool { reset.codeNumber != nil }
        /// Verified in this session: the new password belongs to the browser that proved the phone.
        var codeVerified: Bool { reset.verifiedAt != nil && reset.verifiedSession == sessionID }

        var lastRoute: CodeRoute? { CodeRoute.last(sentTo: reset.codeNumber, channel: reset.codeChannel, in: numbers) }

        var codeSubject: StepPages.CodeSubject {
            .init(numbers: numbers, lastRoute: lastRoute, lastSentAt: reset.lastSentAt, lockedUntil: reset.lockedUntil)
        }

        func codes(_ use: UseCaseContext, binding: String? = nil) -> VerificationCodes.Context {
            VerificationCodes.Context(holder: .passwordReset(resetID, patientID: patientID), use: use, binding: binding)
        }
    }

    /// The live reset whose link was opened in this session: not used, not replaced, not expired.
    /// The open, unexpired reset whose link has this hash.
    static func live(tokenHash hash: String, now: Date, on db: any Database) async throws -> PasswordReset? {
        try await PasswordReset.query(on: db).filter(\.$tokenHash == hash).filter(\.$closedAt == nil).filter(\.$expiresAt > now).first()
    }

    static func load(session: CurrentSession?, _ use: UseCaseContext) async throws -> State? {
        guard let session, let hash = session.passwordResetTokenHash,
              let reset = try await live(tokenHash: hash, now: use.now, on: use.db),
              let patient = try await Patient.find(reset.$patient.id, on: use.db),
              let email = try? EmailAddress(patient.email) else { return nil }
        return State(reset: reset, resetID: try reset.requireID(), patientID: patient.id!, email: email, numbers: patient.verifiedNumbers,
                     sessionID: session.idHash)
    }

    /// Saves the new password, once: the reset closes, every session of the account ends, the
    /// sign-in lock is lifted, and the patient is told by email, all in one transaction.
    static func complete(_ state: State, passwordHash: String, _ use: UseCaseContext) async throws -> Bool {
        let now = use.now
        let services = use.services
        let notice = AccountEmails.passwordChanged(to: state.email.value, from: services.config.mailFrom,
                                                   signInLink: Paths.signIn().url(base: services.config.publicBaseURL))
        return try await use.db.transaction { tx in
            guard try await PasswordResetsTable.closeVerified(id: state.resetID, sessionID: state.sessionID, now: now, on: tx)
            else { return false }
            try await Patient.query(on: tx).filter(\.$id == state.patientID)
                .set(\.$passwordHash, to: passwordHash).set(\.$failedLogins, to: 0).set(\.$lockedUntil, to: nil)
                .update()
            try await SessionHousekeeping.endAll(of: .patient(state.patientID), on: tx)
            try await RememberedBrowsers.forgetAll(patientID: state.patientID, on: tx)
            try await Outbox.enqueue(notice, kind: .passwordChanged, relatedID: state.patientID, sealer: services.sealer,
                                     at: now, on: tx)
            try await use.on(tx).audit(.passwordReset, actor: .patient(state.patientID), subject: "password-reset:\(state.resetID)")
            return true
        }
    }
}
