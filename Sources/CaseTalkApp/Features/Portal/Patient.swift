import CaseTalkCore
import Fluent
import Foundation

/// A patient's account (SPEC §1): one per email address across the whole system, made at the
/// end of registration. It may join many cases, from many practices.
package final class Patient: Model, @unchecked Sendable {
    package static let schema = "patients"

    @ID(key: .id) package var id: UUID?
    /// Normalised (`EmailAddress.value`); unique, and never also a staff account's address.
    @Field(key: "email") var email: String
    /// The name the inviting case gave, for greetings.
    @Field(key: "name") var name: String
    @Field(key: "password_hash") var passwordHash: String
    @Field(key: "failed_logins") var failedLogins: Int
    @OptionalField(key: "locked_until") var lockedUntil: Date?
    @OptionalField(key: "mobile_number") var mobileNumber: String?
    @OptionalField(key: "home_number") var homeNumber: String?
    @OptionalField(key: "work_number") var workNumber: String?
    /// The E.164 number the registration code was confirmed on (used again for password resets).
    @Field(key: "verified_number") var verifiedNumber: String
    @Field(key: "terms_version") var termsVersion: String
    @Field(key: "terms_accepted_at") var termsAcceptedAt: Date
    @Field(key: "created_at") var createdAt: Date

    package init() {}
    /// A registered patient: the numbers saved at registration, the one the code went to, the
    /// Terms of Use accepted, no failed sign-ins yet.
    package init(id: UUID = UUID(), email: String, name: String, passwordHash: String, mobileNumber: String?, homeNumber: String? = nil,
         workNumber: String? = nil, verifiedNumber: String, termsVersion: String, termsAcceptedAt: Date, createdAt: Date) {
        self.id = id
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.failedLogins = 0
        self.mobileNumber = mobileNumber
        self.homeNumber = homeNumber
        self.workNumber = workNumber
        self.verifiedNumber = verifiedNumber
        self.termsVersion = termsVersion
        self.termsAcceptedAt = termsAcceptedAt
        self.createdAt = createdAt
    }
}

extension Patient {
    /// Where codes may go after registration (password reset, sign-in from a new browser): only
    /// the verified number, under the kind it was registered as.
    var verifiedNumbers: PhoneNumbers {
        let registered = PhoneNumbers(storedMobile: mobileNumber, home: homeNumber, work: workNumber)
        let numbers = registered.keeping(only: verifiedNumber)
        if numbers.all.isEmpty, let verified = try? PhoneNumber(verifiedNumber) {
            // Not among the saved numbers (it always is today): a call reaches any kind of phone.
            return PhoneNumbers(home: verified)
        }
        return numbers
    }
}

/// The patient a case belongs to, once they have accepted its invitation (one per case).
package final class CasePatient: Model, @unchecked Sendable {
    package static let schema = "case_patients"

    @ID(custom: "case_id", generatedBy: .user) package var id: UUID?
    @Parent(key: "patient_id") var patient: Patient
    @Field(key: "joined_at") var joinedAt: Date

    package init() {}
    package init(caseID: UUID, patientID: UUID, joinedAt: Date) {
        self.id = caseID
        self.$patient.id = patientID
        self.joinedAt = joinedAt
    }
}
