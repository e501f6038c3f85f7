import CaseTalkCore
import Fluent
import Foundation

/// **Deactivate**, **Reactivate** and the departures that orphan no patient (SPEC §9). A practice
/// admin acts on their own practice only: every statement names it. Deactivation ends the
/// account's sessions, two-step key and recovery codes in its transaction, and its Patient Talks
/// are each handed over to a colleague, closed, or left undecided (they close themselves after
/// 7 days). Nobody reads a Patient Talk by being an admin: the admin sees each one's case and
/// patient, never its messages.
enum Departures {
    /// Undecided conversations close themselves this long after their member's deactivation.
    static let undecidedFor: TimeInterval = 7 * 24 * 3600

    /// What becomes of one Patient Talk.
    enum Decision: Equatable, Sendable {
        case handOver(to: UUID)
        case close
    }

    /// An open Patient Talk of the departing member, with who may take it.
    struct Talk: Sendable {
        let id: UUID
        let caseID: UUID
        let caseTitle: String
        let patientName: String
        let lastMessageAt: Date
        /// Colleagues who can take it: active, of the practice, not the departing member, and
        /// without a Patient Talk of their own on the case.
        let takers: [AccountsTable.StaffMember]
    }

    /// The departing member (of the admin's practice, or nil), their open Patient Talks and the
    /// colleagues who may take each.
    static func talks(of staffID: UUID, practiceID: UUID, on db: any Database) async throws
        -> (member: AccountsTable.StaffMember, talks: [Talk])? {
        let staff = try await AccountsTable.staff(ofPractice: practiceID, on: db)
        guard let member = staff.first(where: { $0.id == staffID }) else { return nil }
        let owned = try await ConversationsTable.owned(byMember: staffID, practiceID: practiceID, on: db)
        let taken = owned.isEmpty ? [] : try await ConversationsTable.otherOwners(onCasesOf: staffID, on: db)
        let colleagues = staff.filter { $0.id != staffID && $0.deactivatedAt == nil }
        return (member, owned.map { talk in
            let busy = Set(taken.filter { $0.caseID == talk.caseId }.map(\.memberID))
            return Talk(id: talk.id, caseID: talk.caseId, caseTitle: talk.caseTitle,
                        patientName: "\(talk.patientFirstName) \(talk.patientLastName)", lastMessageAt: talk.lastMessageAt,
                        takers: colleagues.filter { !busy.contains($0.id) })
        })
    }

    enum Outcome: Equatable, Sendable {
        /// Whether this deactivated the account (else it was already), and what became of the talks.
        case done(deactivated: Bool, handedOver: Int, closed: Int)
        /// The account is the practice's last active admin: nothing changed.
        case lastAdmin
        /// Not a member of the admin's practice.
        case notFound
    }

    /// Deactivates staff member `staffID` (unless already) and carries out `decisions` (by
    /// conversation id) on their open Patient Talks, in one transaction. A decision another admin
    /// made first, or that no longer fits (the colleague left or took a talk on the case), is
    /// skipped: the talk stays undecided and the page lists it again.
    static func deactivate(_ staffID: UUID, decisions: [UUID: Decision], by admin: SignedInStaff,
                           _ use: UseCaseContext) async throws -> Outcome {
        let services = use.services, now = use.now
        return try await use.db.transaction { tx in
            guard try await PracticesTable.lock(admin.practiceID, on: tx),
                  let member = try await AccountsTable.staff(ofPractice: admin.practiceID, on: tx).first(where: { $0.id == staffID }) else {
                return .notFound
            }
            let audit = use.on(tx)
            var deactivated = false
            if member.deactivatedAt == nil {
                guard try await AccountsTable.deactivateStaff(staffID, practiceID: admin.practiceID, now: now, on: tx) else { return .lastAdmin }
                try await SessionsTable.deleteAll(of: .staff(staffID), on: tx)
                try await RecoveryCodesTable.removeAll(staffID: staffID, on: tx)
                try await audit.audit(.staffDeactivated, actor: .staff(admin.id), subject: "staff:\(staffID)")
                deactivated = true
            }
            var handedOver = 0, closed = 0
            var emails: [Outbox.Queued] = []
            for (conversationID, decision) in decisions.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
                guard try await carryOut(decision, on: conversationID, of: staffID, practiceID: admin.practiceID, by: admin.id,
                                         emails: &emails, use.on(tx)) else { continue }
                if decision == .close { closed += 1 } else { handedOver += 1 }
            }
            try await Outbox.enqueue(emails, sealer: services.sealer, at: now, on: tx)
            return .done(deactivated: deactivated, handedOver: handedOver, closed: closed)
        }
    }

    /// Hands conversation `conversationID` of member `memberID` (of practice `practiceID`) over or
    /// closes it, on `use`'s transaction: the new member joins the case if needed, the handover is
    /// kept, audited as `actor`'s, and the new member and the patient are emailed (queued into
    /// `emails`). False when the statement's conditions no longer held.
    static func carryOut(_ decision: Decision, on conversationID: UUID, of memberID: UUID, practiceID: UUID, by actor: UUID,
                         emails: inout [Outbox.Queued], _ use: UseCaseContext) async throws -> Bool {
        let tx = use.db, now = use.now, config = use.services.config
        switch decision {
        case .close:
            guard try await ConversationsTable.close(conversationID, memberID: memberID, practiceID: practiceID, now: now, on: tx) else {
                return false
            }
            try await use.audit(.conversationClosed, actor: .staff(actor), subject: "conversation:\(conversationID) staff:\(memberID)")
        case .handOver(let newID):
            guard let caseID = try await ConversationsTable.handOver(conversationID, from: memberID, to: newID, practiceID: practiceID,
                                                                      on: tx) else { return false }
            if try await CasesTable.addMemberIfAbsent(newID, to: caseID, by: actor, at: now, on: tx) {
                try await use.audit(.memberAdded, actor: .staff(actor), subject: "case:\(caseID) staff:\(newID)")
            }
            try await HandoversTable.insert(conversationID: conversationID, from: memberID, to: newID, by: actor, at: now, on: tx)
            try await use.audit(.conversationHandedOver, actor: .staff(actor),
                                subject: "conversation:\(conversationID) from:staff:\(memberID) to:staff:\(newID)")
            for address in try await ConversationsTable.noticeAddresses([conversationID], on: tx) {
                emails.append(Outbox.Queued(message: PracticeEmails.talkHandedOver(
                    to: address.memberEmail, from: config.mailFrom, link: Paths.patientTalk(caseID).url(base: config.publicBaseURL)),
                    kind: .talkHandedOver, relatedID: conversationID))
                if let patient = address.patientEmail {
                    emails.append(Outbox.Queued(message: PracticeEmails.careTeamChanged(
                        to: patient, from: config.mailFrom, practiceName: address.practiceName,
                        link: Paths.conversation(conversationID).url(base: config.publicBaseURL)), kind: .careTeamChanged,
                        relatedID: conversationID))
                }
            }
        }
        return true
    }

    // MARK: Leaving a case

    enum Leaving: Equatable, Sendable {
        case left
        /// The case's own practice would have no member left on it: nothing changed.
        case lastOfPractice
        /// The Patient Talk's decision no longer fits (decided or changed meanwhile): nothing changed.
        case talkChanged
    }

    /// **Leave this case** / **Remove from case** (SPEC §9): member `staffID` (of practice
    /// `practiceID`) leaves case `caseID` at once, after `decision` on their open Patient Talk
    /// there (`talkID`, when they have one), in one transaction; the case's own practice keeps a
    /// member (one conditional statement after the case's lock). Audited as `actor`'s.
    static func leave(_ caseID: UUID, staffID: UUID, practiceID: UUID, talk: (id: UUID, decision: Decision)?, by actor: UUID,
                      _ use: UseCaseContext) async throws -> Leaving {
        do {
            return try await use.db.transaction { tx in
                guard try await CasesTable.lock(caseID, on: tx) else { throw Refused(outcome: .talkChanged) }
                var emails: [Outbox.Queued] = []
                if let talk {
                    guard try await carryOut(talk.decision, on: talk.id, of: staffID, practiceID: practiceID, by: actor, emails: &emails,
                                             use.on(tx)) else { throw Refused(outcome: .talkChanged) }
                }
                guard try await CasesTable.removeMember(staffID, from: caseID, on: tx) else { throw Refused(outcome: .lastOfPractice) }
                try await use.on(tx).audit(.memberRemoved, actor: .staff(actor), subject: "case:\(caseID) staff:\(staffID)")
                try await Outbox.enqueue(emails, sealer: use.services.sealer, at: use.now, on: tx)
                return .left
            }
        } catch let refused as Refused {
            return refused.outcome
        }
    }

    /// Ends a transaction without its changes.
    private struct Refused: Error { let outcome: Leaving }

    /// **Reactivate**: sign-in comes back, with two-step verification to set up anew. Audited.
    /// False when the account is not a deactivated member of the admin's practice.
    static func reactivate(_ staffID: UUID, by admin: SignedInStaff, _ use: UseCaseContext) async throws -> Bool {
        try await use.db.transaction { tx in
            guard try await AccountsTable.reactivateStaff(staffID, practiceID: admin.practiceID, on: tx) else { return false }
            try await use.on(tx).audit(.staffReactivated, actor: .staff(admin.id), subject: "staff:\(staffID)")
            return true
        }
    }

    /// Closes the Patient Talks left undecided for 7 days and emails each practice's admins how
    /// many closed (the background round calls it). How many closed.
    @discardableResult
    static func closeUndecided(services: CaseTalkServices, now: Date, on db: any Database) async throws -> Int {
        try await db.transaction { tx in
            let members = try await ConversationsTable.closeUndecided(deactivatedBy: now.addingTimeInterval(-undecidedFor), now: now, on: tx)
            guard !members.isEmpty else { return 0 }
            var perPractice: [UUID: Int] = [:]
            for memberID in members {
                guard let practiceID = try await StaffUser.find(memberID, on: tx)?.$practice.id else { continue }
                perPractice[practiceID, default: 0] += 1
            }
            var emails: [Outbox.Queued] = []
            for (practiceID, count) in perPractice {
                try await Audit.record(.conversationClosed, actor: .system, subject: "practice:\(practiceID) undecided:\(count)",
                                       clientAddress: "", at: now, key: services.auditKey, on: tx)
                for address in try await AccountsTable.adminAddresses(ofPractice: practiceID, on: tx) {
                    emails.append(Outbox.Queued(message: PracticeEmails.talksClosed(
                        to: address, from: services.config.mailFrom, count: count,
                        link: Paths.practice().url(base: services.config.publicBaseURL)), kind: .talksClosed, relatedID: practiceID))
                }
            }
            try await Outbox.enqueue(emails, sealer: services.sealer, at: now, on: tx)
            return members.count
        }
    }
}
