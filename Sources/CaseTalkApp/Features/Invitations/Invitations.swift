import CaseTalkCore
import Fluent
import Foundation
import Vapor

/// Sending, resending, correcting and revoking a case's invitation, and opening its link.
/// Every change replaces the live links and writes its email to the outbox in one transaction.
enum Invitations {
    typealias Change = InvitationControl.Change

    struct NotPossible: Error { let message: String }

    /// Applies `change` to the invitation of `patientCase` (the caller found it for the member,
    /// with its practice). SPEC §3's control is kept twice: `InvitationControl` decides and names
    /// the reason, and the case's Patient email is written by one conditional statement that only
    /// a member of the owning practice, or the first invitation, can pass, so a race cannot
    /// redirect the link either. Every other member is emailed (content-free) when the address
    /// is new.
    static func apply(_ change: Change, to patientCase: PatientCase, by staff: SignedInStaff, _ use: UseCaseContext) async throws {
        let now = use.now
        let services = use.services
        let caseID = try patientCase.requireID()
        let owns = patientCase.isOwned(by: staff)
        let existing = try await Invitation.query(on: use.db).filter(\.$patientCase.$id == caseID).first()
        if existing?.status == .registered {
            throw NotPossible(message: "The patient has already registered for this case; no invitation is needed.")
        }
        if case .refused(let why) = InvitationControl.decide(change, addressOnFile: patientCase.patientEmail ?? existing?.email,
                                                             ownsCase: owns, owningPractice: patientCase.practice.name) {
            throw NotPossible(message: why)
        }

        let invitation = existing ?? Invitation()
        let action: AuditAction
        let address: String
        switch change {
        case .send(let email):
            address = email.value
            if existing == nil || existing?.state(at: now) == .revoked || existing?.state(at: now) == .expired {
                action = .invitationCreated
            } else {
                action = email.value == existing?.email ? .invitationResent : .invitationCorrected
            }
        case .resend:
            guard let existing, existing.status != .revoked else {
                throw NotPossible(message: "There is no invitation to resend. Use Invite Patient to send one.")
            }
            address = existing.email
            action = .invitationResent
        case .revoke:
            guard let existing, existing.status != .revoked else {
                throw NotPossible(message: "There is no invitation to revoke.")
            }
            address = existing.email
            action = .invitationRevoked
        }
        let newAddress = address != existing?.email
        let others = newAddress ? try await CasesTable.memberAddresses(of: caseID, except: staff.id, on: use.db) : []

        let token = SecureRandom.token()
        try await use.db.transaction { tx in
            // The address becomes the case's Patient email, unless someone outside the owning
            // practice tries to change one already on file.
            guard try await CasesTable.keepPatientEmail(address, of: caseID, owns: owns, at: now, on: tx) else { throw NotPossible(message: InvitationControl.otherAddressMessage(patientCase.practice.name)) }
            if existing == nil {
                invitation.id = UUID()
                invitation.$patientCase.id = caseID
                invitation.createdAt = now
            }
            if case .revoke = change {
                invitation.status = .revoked
                invitation.revokedAt = now
            } else {
                invitation.email = address
                invitation.$invitedBy.id = staff.id
                invitation.status = .sent
                invitation.sentAt = now
                invitation.openedAt = nil
                invitation.codeVerifiedAt = nil
                invitation.revokedAt = nil
                invitation.expiresAt = now.addingTimeInterval(InvitationPolicy.lifetime)
                invitation.remindersSent = 0
            }
            // Writing the invitation row first takes its lock (or, for a new one, its unique case
            // slot), so a concurrent change waits here and then removes this change's link too:
            // only one link is ever live.
            try await invitation.save(on: tx)
            try await InvitationsTable.deleteLinks(of: invitation.id!, on: tx)
            try await PatientRegistration.restart(invitationID: invitation.id!, on: tx)
            if case .revoke = change {} else {
                try await issueLink(token: token, for: invitation, memberName: staff.name, practiceName: staff.practiceName,
                                    reminder: false, services: services, now: now, on: tx)
            }
            let link = Paths.patientTalk(caseID).url(base: services.config.publicBaseURL)
            for member in others {
                let message = StaffEmails.invitationAddressChanged(to: member, from: services.config.mailFrom, changerName: staff.name,
                                                                   practiceName: staff.practiceName, link: link)
                try await Outbox.enqueue(message, kind: .invitationAddress, relatedID: invitation.id, sealer: services.sealer,
                                         at: now, on: tx)
            }
            try await use.on(tx).audit(action, actor: .staff(staff.id), subject: "case:\(caseID) invitation:\(invitation.id!)")
        }
    }

    /// **Remove patient access** (SPEC §3), for the owning practice: the account loses the case
    /// and its conversations at once (every patient query joins `case_patients`), the invitation
    /// is revoked so a new one can be sent, and it is audited. Nothing happens when no account is joined.
    static func removePatientAccess(from patientCase: PatientCase, by staff: SignedInStaff, _ use: UseCaseContext) async throws {
        let now = use.now
        let caseID = try patientCase.requireID()
        guard patientCase.isOwned(by: staff) else {
            throw NotPossible(message: InvitationControl.onlyOwners(patientCase.practice.name, can: "remove the patient's access."))
        }
        try await use.db.transaction { tx in
            guard let removed = try await CasesTable.removePatient(of: caseID, on: tx) else { return }
            try await ConversationsTable.setPatient(nil, ofCase: caseID, on: tx)
            try await InvitationsTable.revoke(ofCase: caseID, at: now, on: tx)
            try await CasesTable.touch(caseID, at: now, on: tx)
            try await use.on(tx).audit(.patientAccessRemoved, actor: .staff(staff.id), subject: "case:\(caseID) patient:\(removed)")
        }
    }

    /// The invitation's link was opened: a *sent* invitation becomes *opened* (audited once).
    /// Nothing else changes: mail scanners fetch links too.
    static func markOpened(_ invitation: Invitation, _ use: UseCaseContext) async throws {
        guard invitation.status == .sent else { return }
        let invitationID = try invitation.requireID()
        try await use.db.transaction { tx in
            guard try await InvitationsTable.markOpened(invitationID, at: use.now, on: tx) else { return }
            try await use.on(tx).audit(.invitationOpened, actor: .anonymous, subject: "invitation:\(invitationID)")
        }
    }

    /// Stores a new link for `invitation` (as a hash) and queues the email that carries it.
    static func issueLink(token: String, for invitation: Invitation, memberName: String, practiceName: String,
                          reminder: Bool, services: CaseTalkServices, now: Date, on db: any Database) async throws {
        let invitationID = try invitation.requireID()
        try await InvitationToken(tokenHash: Digest.sha256Hex(token), invitationID: invitationID,
                                  createdAt: now, expiresAt: invitation.expiresAt).create(on: db)
        let link = Paths.invitationLink(token: token).url(base: services.config.publicBaseURL)
        let email = StaffEmails.invitation(to: invitation.email, from: services.config.mailFrom, memberName: memberName,
                                           practiceName: practiceName, link: link, reminder: reminder)
        try await Outbox.enqueue(email, kind: reminder ? .reminder : .invitation, relatedID: invitationID,
                                 sealer: services.sealer, at: now, on: db)
    }

    /// The invitation a link token stands for, if the link still works: known, not expired, and
    /// the invitation neither revoked nor completed.
    static func live(tokenHash: String, now: Date, on db: any Database) async throws -> Invitation? {
        guard let token = try await InvitationToken.query(on: db).filter(\.$id == tokenHash)
            .filter(\.$expiresAt > now).with(\.$invitation).first() else { return nil }
        let invitation = token.invitation
        switch invitation.state(at: now) {
        case .sent, .opened, .codeVerified: return invitation
        case .registered, .expired, .revoked: return nil
        }
    }
}

/// SPEC §3: reminders on day 3 and day 10 while the patient has not registered, each with a
/// link of its own (the earlier links keep working until the invitation expires).
enum InvitationReminders {
    static func sendDue(db: any Database, services: CaseTalkServices, now: Date) async throws {
        let candidates = try await Invitation.query(on: db)
            .filter(\.$status ~~ [.sent, .opened, .codeVerified])
            .filter(\.$expiresAt > now)
            .filter(\.$remindersSent < InvitationPolicy.reminderDays.count)
            .with(\.$invitedBy) { $0.with(\.$practice) }
            .all()
        for invitation in candidates where InvitationPolicy.reminderDue(sentAt: invitation.sentAt, remindersSent: invitation.remindersSent, now: now) {
            let sentBefore = invitation.remindersSent
            try await db.transaction { tx in
                // Counting the reminder is the first write and only succeeds once, even with two workers.
                guard try await InvitationsTable.countReminder(invitation.id!, sentBefore: sentBefore, on: tx) else { return }
                try await Invitations.issueLink(token: SecureRandom.token(), for: invitation, memberName: invitation.invitedBy.name,
                                                practiceName: invitation.invitedBy.practice.name, reminder: true,
                                                services: services, now: now, on: tx)
                try await Audit.record(.invitationReminded, actor: .system, subject: "invitation:\(invitation.id!)",
                                       clientAddress: "local", at: now, key: services.auditKey, on: tx)
            }
        }
    }
}

