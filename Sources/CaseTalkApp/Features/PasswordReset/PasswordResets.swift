import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Vapor

/// Forgot password? (SPEC §4) as stored state: the emailed link, the code to the verified phone
/// (through `VerificationCodes`), and the new password, which ends every other session, lifts the
/// sign-in lock and tells the patient by email.
enum PasswordResets {
    /// A link works for 30 minutes.
    static let linkLifetime: TimeInterval = 30 * 60
    /// At most 3 reset emails per account per hour, so the form cannot be used to flood a mailbox.
    static let emailsPerHour = 3

    /// The Forgot password? form. The answer is the same whatever the address; only an account
    /// gets an email: a patient the link, staff a note on how their password is reset.
    static func request(_ email: EmailAddress, req: Request) async throws {
        let now = req.now
        let services = req.caseTalk
        let since = now.addingTimeInterval(-3600)
        if let patient = try await Patient.query(on: req.db).filter(\.$email == email.value).first() {
            let patientID = try patient.requireID()
            // The newest few links: enough to count the last hour's and to find the one replaced.
            let recent = try await PasswordReset.query(on: req.db).filter(\.$patient.$id == patientID)
                .sort(\.$createdAt, .descending).limit(emailsPerHour).all()
            guard recent.filter({ $0.createdAt > since }).count < emailsPerHour else {
                try await req.audit(.resetRequested, actor: .patient(patientID), subject: "limited")
                return
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
            let previous = recent.first
            reset.wrongStreak = previous?.wrongStreak ?? 0
            reset.lockedUntil = previous?.lockedUntil
            reset.lockCount = previous?.lockCount ?? 0
            let message = AccountEmails.resetLink(to: patient.email, from: services.config.mailFrom,
                                                  link: "\(services.config.publicBaseURL.absoluteString)/password/reset/\(token)")
            try await req.db.transaction { tx in
                try await PasswordReset.query(on: tx).filter(\.$patient.$id == patientID).filter(\.$closedAt == nil)
                    .set(\.$closedAt, to: now).update()
                try await reset.create(on: tx)
                try await Outbox.enqueue(message, kind: "password-reset", relatedID: reset.id, sealer: services.sealer, at: now, on: tx)
                try await req.audit(.resetRequested, actor: .patient(patientID), subject: "password-reset:\(reset.id!)", on: tx)
            }
        } else if let staff = try await StaffUser.query(on: req.db).filter(\.$email == email.value).first() {
            let staffID = try staff.requireID()
            let recent = try await OutboxEmail.query(on: req.db).filter(\.$relatedID == staffID)
                .filter(\.$kind == "password-reset-staff").filter(\.$createdAt > since).count()
            guard recent < emailsPerHour else {
                try await req.audit(.resetRequested, actor: .staff(staffID), subject: "limited")
                return
            }
            let message = AccountEmails.staffReset(to: staff.email, from: services.config.mailFrom)
            try await req.db.transaction { tx in
                try await Outbox.enqueue(message, kind: "password-reset-staff", relatedID: staffID, sealer: services.sealer, at: now, on: tx)
                try await req.audit(.resetRequested, actor: .staff(staffID), subject: "staff-account", on: tx)
            }
        } else {
            try await req.audit(.resetRequested, actor: .anonymous, subject: "unknown-account")
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

        var codeSubject: RegistrationPages.CodeSubject {
            .init(numbers: numbers, lastRoute: lastRoute, lastSentAt: reset.lastSentAt, lockedUntil: reset.lockedUntil)
        }

        func codes(_ req: Request, binding: String? = nil) -> VerificationCodes.Context {
            VerificationCodes.Context(holder: .passwordReset(resetID, patientID: patientID), services: req.caseTalk, now: req.now,
                                      clientAddress: req.clientAddress, db: req.db, binding: binding)
        }
    }

    /// The live reset whose link was opened in this session: not used, not replaced, not expired.
    static func load(_ req: Request) async throws -> State? {
        guard let session = req.session, let hash = session.passwordResetTokenHash,
              let reset = try await PasswordReset.query(on: req.db).filter(\.$tokenHash == hash).filter(\.$closedAt == nil)
                .filter(\.$expiresAt > req.now).first(),
              let patient = try await Patient.find(reset.$patient.id, on: req.db),
              let email = try? EmailAddress(patient.email) else { return nil }
        return State(reset: reset, resetID: try reset.requireID(), patientID: patient.id!, email: email, numbers: patient.verifiedNumbers,
                     sessionID: session.idHash)
    }

    /// Saves the new password, once: the reset closes, every session of the account ends, the
    /// sign-in lock is lifted, and the patient is told by email, all in one transaction.
    static func complete(_ state: State, passwordHash: String, req: Request) async throws -> Bool {
        let now = req.now
        let services = req.caseTalk
        let notice = AccountEmails.passwordChanged(to: state.email.value, from: services.config.mailFrom,
                                                   signInLink: "\(services.config.publicBaseURL.absoluteString)/login")
        return try await req.db.transaction { tx in
            let closed = try await tx.sql.update(PasswordReset.schema)
                .set("closed_at", to: SQLBind(now))
                .where("id", .equal, SQLBind(state.resetID))
                .where("closed_at", .is, SQLLiteral.null)
                .where("verified_at", .isNot, SQLLiteral.null)
                .where("verified_session", .equal, SQLBind(state.sessionID))
                .returning("id")
                .all()
            guard !closed.isEmpty else { return false }
            try await Patient.query(on: tx).filter(\.$id == state.patientID)
                .set(\.$passwordHash, to: passwordHash).set(\.$failedLogins, to: 0).set(\.$lockedUntil, to: nil)
                .update()
            try await SessionHousekeeping.endAll(of: .patient(state.patientID), on: tx)
            try await RememberedBrowsers.forgetAll(patientID: state.patientID, on: tx)
            try await Outbox.enqueue(notice, kind: "password-changed", relatedID: state.patientID, sealer: services.sealer,
                                     at: now, on: tx)
            try await req.audit(.passwordReset, actor: .patient(state.patientID), subject: "password-reset:\(state.resetID)", on: tx)
            return true
        }
    }
}
