import CaseTalkCore
import Fluent
import Foundation

/// A patient's account (SPEC §1): one per email address across the whole system, made at the
/// end of registration. It may join many cases, from many practices.
final class Patient: Model, @unchecked Sendable {
    static let schema = "patients"

    @ID(key: .id) var id: UUID?
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

    init() {}
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
final class CasePatient: Model, @unchecked Sendable {
    static let schema = "case_patients"

    @ID(custom: "case_id", generatedBy: .user) var id: UUID?
    @Parent(key: "patient_id") var patient: Patient
    @Field(key: "joined_at") var joinedAt: Date

    init() {}
    init(caseID: UUID, patientID: UUID, joinedAt: Date) {
        self.id = caseID
        self.$patient.id = patientID
        self.joinedAt = joinedAt
    }
}
