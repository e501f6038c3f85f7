import Fluent
import SQLKit

/// Patient accounts (SPEC §1: one per email address across the whole system), and the case each
/// belongs to once the patient has accepted its invitation.
struct CreatePatient: AsyncMigration {
    var name: String { "014_CreatePatient" }

    func prepare(on db: any Database) async throws {
        try await db.schema("patients")
            .id()
            .field("email", .string, .required)
            .field("name", .string, .required)
            .field("password_hash", .string, .required)
            .field("failed_logins", .int, .required)
            .field("locked_until", .datetime)
            .field("mobile_number", .string)
            .field("home_number", .string)
            .field("work_number", .string)
            .field("verified_number", .string, .required)
            .field("terms_version", .string, .required)
            .field("terms_accepted_at", .datetime, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "email")
            .create()
        // A table of its own rather than a column on `cases`: SQLite cannot drop a column that
        // references another table, so this keeps the migration reversible on both engines.
        try await db.schema("case_patients")
            .field("case_id", .uuid, .identifier(auto: false), .references("cases", "id", onDelete: .cascade))
            .field("patient_id", .uuid, .required, .references("patients", "id", onDelete: .cascade))
            .field("joined_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "case_patients_patient_idx").on("case_patients").column("patient_id").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("case_patients").delete()
        try await db.schema("patients").delete()
    }
}
