import CaseTalkCore
import Fluent
import Foundation

/// Creating practices and staff accounts: one path for the commands and the demo data.
enum StaffAccounts {
    static func createPractice(name rawName: String, at now: Date, auditKey: AuditKey, on db: any Database) async throws -> Practice {
        guard let name = try TextInput.singleLine(rawName, label: "practice name", maxLength: 200) else {
            throw ValidationError("Enter the practice name.")
        }
        let practice = Practice(name: name, createdAt: now)
        try await db.transaction { tx in
            try await practice.create(on: tx)
            try await Audit.record(.practiceCreated, actor: .system, subject: "practice:\(try practice.requireID())",
                                   clientAddress: "local", at: now, key: auditKey, on: tx)
        }
        return practice
    }

    struct NewStaff: Sendable {
        var practiceID: UUID
        var email: String
        var name: String
        var role: StaffRole
        var isAdmin: Bool
        var password: String
    }

    static func createStaff(_ input: NewStaff, services: CaseTalkServices, at now: Date, on db: any Database) async throws -> StaffUser {
        let email = try EmailAddress(input.email)
        guard let name = try TextInput.singleLine(input.name, label: "name", maxLength: 100) else {
            throw ValidationError("Enter the name.")
        }
        try PasswordPolicy.check(input.password, email: email, common: services.commonPasswords)
        guard try await Practice.find(input.practiceID, on: db) != nil else {
            throw ValidationError("There is no practice with that id.")
        }
        guard try await StaffUser.query(on: db).filter(\.$email == email.value).count() == 0 else {
            throw ValidationError("A staff account with that email address already exists.")
        }
        // One address, one account: sign-in finds a person by address alone.
        guard try await Patient.query(on: db).filter(\.$email == email.value).count() == 0 else {
            throw ValidationError("A patient account uses that email address. Use another address for the staff account.")
        }
        let user = StaffUser(practiceID: input.practiceID, email: email, name: name, role: input.role,
                             isAdmin: input.isAdmin, passwordHash: try await services.passwords.hash(input.password), createdAt: now)
        try await db.transaction { tx in
            try await user.create(on: tx)
            try await Audit.record(.staffCreated, actor: .system, subject: "staff:\(try user.requireID())",
                                   clientAddress: "local", at: now, key: services.auditKey, on: tx)
        }
        return user
    }

    /// `staff password`: whoever runs CaseTalk sets a new password for a staff member (staff
    /// accounts have no verified phone for Forgot password?). Every session of the account ends
    /// and the sign-in lock is lifted.
    static func setStaffPassword(email rawEmail: String, password: String, services: CaseTalkServices, at now: Date,
                                 on db: any Database) async throws {
        let email = try EmailAddress(rawEmail)
        try PasswordPolicy.check(password, email: email, common: services.commonPasswords)
        guard let user = try await StaffUser.query(on: db).filter(\.$email == email.value).first() else {
            throw ValidationError("There is no staff account with that email address.")
        }
        let userID = try user.requireID()
        let hash = try await services.passwords.hash(password)
        try await db.transaction { tx in
            try await StaffUser.query(on: tx).filter(\.$id == userID)
                .set(\.$passwordHash, to: hash).set(\.$failedLogins, to: 0).set(\.$lockedUntil, to: nil).update()
            try await SessionHousekeeping.endAll(of: .staff(userID), on: tx)
            try await Audit.record(.passwordReset, actor: .system, subject: "staff:\(userID)", clientAddress: "local", at: now,
                                   key: services.auditKey, on: tx)
        }
    }
}
