import CaseTalkCore
import Fluent
import Foundation

/// Making a case and adding its members (SPEC §2). Reads of cases are `CasesTable`'s, scoped
/// to the signed-in member in the query.
enum Cases {
    /// New Case: the case, with its creator as its first member, audited, in one transaction.
    static func create(_ draft: CaseDraft, by staff: SignedInStaff, _ use: UseCaseContext) async throws -> UUID {
        let now = use.now
        let patientCase = PatientCase(practiceID: staff.practiceID, patientFirstName: draft.patientFirstName,
                                      patientLastName: draft.patientLastName, patientDateOfBirth: draft.patientDateOfBirth?.description,
                                      patientEmail: draft.patientEmail?.value, title: draft.title, notes: draft.notes,
                                      createdByID: staff.id, createdAt: now)
        let caseID = patientCase.id!
        try await use.db.transaction { tx in
            try await patientCase.create(on: tx)
            try await CaseMember(caseID: caseID, staffID: staff.id, addedByID: nil, addedAt: now).create(on: tx)
            try await use.on(tx).audit(.caseCreated, actor: .staff(staff.id), subject: "case:\(caseID)")
        }
        return caseID
    }

    enum Addition: Sendable {
        case added
        case alreadyMember
        /// No such staff account.
        case unknown
    }

    /// **Add a Doctor/Staff**: `newID` joins the case (which `staff` is a member of: the caller
    /// found it so); the case moves in everyone's View Cases, and the added person is emailed a
    /// link (no patient details), all in one transaction.
    static func addMember(_ newID: UUID, to caseID: UUID, by staff: SignedInStaff, _ use: UseCaseContext) async throws -> Addition {
        guard let added = try await StaffUser.find(newID, on: use.db), added.deactivatedAt == nil else { return .unknown }
        let alreadyMember = try await CaseMember.query(on: use.db)
            .filter(\.$patientCase.$id == caseID).filter(\.$staff.$id == newID).count() > 0
        if alreadyMember { return .alreadyMember }
        let now = use.now, services = use.services
        do {
            try await storeMember(added, newID: newID, to: caseID, by: staff, now: now, services: services, use)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Added by someone else a moment ago (the unique membership refused the second).
            return .alreadyMember
        }
        return .added
    }

    private static func storeMember(_ added: StaffUser, newID: UUID, to caseID: UUID, by staff: SignedInStaff, now: Date,
                                  services: CaseTalkServices, _ use: UseCaseContext) async throws {
        try await use.db.transaction { tx in
            try await CaseMember(caseID: caseID, staffID: newID, addedByID: staff.id, addedAt: now).create(on: tx)
            // A change every member sees, so it may move the case in everyone's View Cases.
            try await CasesTable.touch(caseID, at: now, on: tx)
            let email = StaffEmails.addedToCase(to: added.email, from: services.config.mailFrom, adderName: staff.name,
                                                practiceName: staff.practiceName,
                                                link: Paths.caseOverview(caseID).url(base: services.config.publicBaseURL))
            try await Outbox.enqueue(email, kind: .memberAdded, relatedID: caseID, sealer: services.sealer, at: now, on: tx)
            try await use.on(tx).audit(.memberAdded, actor: .staff(staff.id), subject: "case:\(caseID) staff:\(newID)")
        }
    }
}
