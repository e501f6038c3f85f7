import Fluent
import Foundation

/// A patient's case (SPEC §1), owned by the practice that created it.
package final class PatientCase: Model, @unchecked Sendable {
    package static let schema = "cases"

    @ID(key: .id) package var id: UUID?
    @Parent(key: "practice_id") var practice: Practice
    @Field(key: "patient_first_name") var patientFirstName: String
    @Field(key: "patient_last_name") var patientLastName: String
    /// YYYY-MM-DD (`CalendarDate`), kept as text: a date of birth has no time zone.
    @OptionalField(key: "patient_dob") var patientDateOfBirth: String?
    @OptionalField(key: "patient_email") var patientEmail: String?
    @Field(key: "title") var title: String
    @OptionalField(key: "notes") var notes: String?
    @Parent(key: "created_by_id") var createdBy: StaffUser
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "last_activity_at") var lastActivityAt: Date

    package init() {}
    /// A new case of `practiceID`, made by `createdByID`; its last activity is its creation
    /// unless given.
    package init(id: UUID = UUID(), practiceID: UUID, patientFirstName: String, patientLastName: String, patientDateOfBirth: String? = nil,
         patientEmail: String? = nil, title: String, notes: String? = nil, createdByID: UUID, createdAt: Date, lastActivityAt: Date? = nil) {
        self.id = id
        self.$practice.id = practiceID
        self.patientFirstName = patientFirstName
        self.patientLastName = patientLastName
        self.patientDateOfBirth = patientDateOfBirth
        self.patientEmail = patientEmail
        self.title = title
        self.notes = notes
        self.$createdBy.id = createdByID
        self.createdAt = createdAt
        self.lastActivityAt = lastActivityAt ?? createdAt
    }

    var patientName: String { "\(patientFirstName) \(patientLastName)" }

    /// SPEC §3: the practice that created the case controls its invitation and patient access.
    func isOwned(by staff: SignedInStaff) -> Bool { $practice.id == staff.practiceID }
}

/// A staff user associated with a case (SPEC §1): the only people who can open it.
package final class CaseMember: Model, @unchecked Sendable {
    package static let schema = "case_members"

    @ID(key: .id) package var id: UUID?
    @Parent(key: "case_id") var patientCase: PatientCase
    @Parent(key: "staff_id") var staff: StaffUser
    @OptionalParent(key: "added_by_id") var addedBy: StaffUser?
    @Field(key: "added_at") var addedAt: Date

    package init() {}
    package init(caseID: UUID, staffID: UUID, addedByID: UUID?, addedAt: Date) {
        self.$patientCase.id = caseID
        self.$staff.id = staffID
        self.$addedBy.id = addedByID
        self.addedAt = addedAt
    }
}
