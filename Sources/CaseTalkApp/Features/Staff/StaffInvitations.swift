import CaseTalkCore
import Fluent
import Foundation

/// **Invite Staff** (SPEC §9): a practice admin invites a colleague by email; the link (72 hours,
/// once, kept as a hash, replaced on **Resend**) leads to **Set password** with the patients'
/// policy, then **Set up two-step verification**, then the person is signed in. Everything an
/// admin does here names the admin's own practice and is audited.
enum StaffInvitations {
    static let linkLifetime: TimeInterval = 72 * 3600

    /// What the **Invite Staff** form sent, checked.
    struct Invite: Sendable {
        let email: EmailAddress
        let name: String
        let role: StaffRole
        let isAdmin: Bool

        /// Each field's problem, by field name, or the checked values.
        static func check(email: String?, name: String?, role: String?, isAdmin: Bool) -> Result<Invite, FieldErrors> {
            var errors = FieldErrors()
            var address: EmailAddress?
            do { address = try EmailAddress(email ?? "") } catch { errors.add("email", error.message) }
            let details = StaffAdministration.checkDetails(name: name, role: role, into: &errors)
            guard let address, let details, errors.isEmpty else { return .failure(errors) }
            return .success(Invite(email: address, name: details.name, role: details.role, isAdmin: isAdmin))
        }
    }

    /// Invites `invite` to the admin's practice, unless an account already uses the address or
    /// the practice invited it already: the invitation, its email and the audit entry in one
    /// transaction. A problem with the address, by field name, otherwise.
    static func invite(_ invite: Invite, by admin: SignedInStaff, _ use: UseCaseContext) async throws -> FieldErrors? {
        let address = invite.email.value
        // One address, one account: sign-in finds a person by address alone.
        let staffUses = try await StaffUser.query(on: use.db).filter(\.$email == address).count() > 0
        let patientUses = try await Patient.query(on: use.db).filter(\.$email == address).count() > 0
        if staffUses || patientUses {
            return problem("An account already uses this email address.")
        }
        if try await StaffInvitationsTable.isPending(address, practiceID: admin.practiceID, on: use.db) {
            return problem("This address has been invited already: use Resend in the list below.")
        }
        let id = UUID(), token = SecureRandom.token(), services = use.services, now = use.now
        try await use.db.transaction { tx in
            try await StaffInvitationsTable.insert(.init(id: id, practiceID: admin.practiceID, email: address, name: invite.name,
                                                         role: invite.role, isAdmin: invite.isAdmin, tokenHash: Digest.sha256Hex(token),
                                                         expiresAt: now.addingTimeInterval(linkLifetime), invitedBy: admin.id, now: now), on: tx)
            try await Outbox.enqueue(email(to: address, token: token, admin: admin, services: services), kind: .staffInvitation,
                                     relatedID: id, sealer: services.sealer, at: now, on: tx)
            try await use.on(tx).audit(.staffInvited, actor: .staff(admin.id), subject: "staff-invitation:\(id)")
        }
        return nil
    }

    /// **Resend** (to `correctedEmail` when the address was corrected): a new link, the old one
    /// void. False when the invitation is not a pending one of the admin's practice.
    static func resend(_ id: UUID, to correctedEmail: EmailAddress?, by admin: SignedInStaff, _ use: UseCaseContext) async throws -> Bool {
        let services = use.services, now = use.now, token = SecureRandom.token()
        guard let current = try await StaffInvitationsTable.pending(ofPractice: admin.practiceID, on: use.db).first(where: { $0.id == id }) else {
            return false
        }
        let address = correctedEmail?.value ?? current.email
        return try await use.db.transaction { tx in
            guard try await StaffInvitationsTable.resend(id, practiceID: admin.practiceID, email: address, tokenHash: Digest.sha256Hex(token),
                                                         expiresAt: now.addingTimeInterval(linkLifetime), now: now, on: tx) != nil else {
                return false
            }
            try await Outbox.enqueue(email(to: address, token: token, admin: admin, services: services), kind: .staffInvitation,
                                     relatedID: id, sealer: services.sealer, at: now, on: tx)
            try await use.on(tx).audit(.staffInvitationResent, actor: .staff(admin.id),
                                       subject: "staff-invitation:\(id)\(address == current.email ? "" : " address-corrected")")
            return true
        }
    }

    /// **Cancel invitation**: the link stops working. False when there was no such pending one.
    static func cancel(_ id: UUID, by admin: SignedInStaff, _ use: UseCaseContext) async throws -> Bool {
        try await use.db.transaction { tx in
            guard try await StaffInvitationsTable.cancel(id, practiceID: admin.practiceID, now: use.now, on: tx) else { return false }
            try await use.on(tx).audit(.staffInvitationCancelled, actor: .staff(admin.id), subject: "staff-invitation:\(id)")
            return true
        }
    }

    enum Acceptance: Sendable {
        /// The account exists; two-step verification is to be set up next.
        case accepted(staffID: UUID)
        /// The link is not (or no longer) live.
        case invalid
        /// An account took the address meanwhile.
        case addressTaken
    }

    /// **Set password** on a live link: the account (with the invitation's practice, name, role
    /// and admin mark) and the link's single use, in one transaction.
    static func accept(_ invitation: StaffInvitationsTable.Live, passwordHash: String, _ use: UseCaseContext) async throws -> Acceptance {
        guard let email = try? EmailAddress(invitation.email), let role = StaffRole(rawValue: invitation.role) else { return .invalid }
        let user = StaffUser(practiceID: invitation.practiceId, email: email, name: invitation.name, role: role,
                             isAdmin: invitation.isAdmin, passwordHash: passwordHash, createdAt: use.now)
        let staffID = UUID()
        user.id = staffID
        if try await Patient.query(on: use.db).filter(\.$email == email.value).count() > 0 { return .addressTaken }
        do {
            return try await use.db.transaction { tx in
                try await user.create(on: tx)
                // The link is used once: the second of two tabs finds it used and makes nothing.
                guard try await StaffInvitationsTable.accept(invitation.id, staffID: staffID, now: use.now, on: tx) else {
                    throw LinkUsed()
                }
                try await use.on(tx).audit(.staffInvitationAccepted, actor: .staff(staffID),
                                           subject: "staff-invitation:\(invitation.id) staff:\(staffID)")
                return .accepted(staffID: staffID)
            }
        } catch is LinkUsed {
            return .invalid
        } catch let error as any DatabaseError where error.isConstraintFailure {
            return .addressTaken
        }
    }

    private struct LinkUsed: Error {}

    private static func problem(_ message: String) -> FieldErrors {
        var errors = FieldErrors()
        errors.add("email", message)
        return errors
    }

    private static func email(to address: String, token: String, admin: SignedInStaff, services: CaseTalkServices) -> EmailMessage {
        PracticeEmails.staffInvitation(to: address, from: services.config.mailFrom, inviterName: admin.name, practiceName: admin.practiceName,
                                       link: Paths.staffInvitationLink(token: token).url(base: services.config.publicBaseURL))
    }
}
