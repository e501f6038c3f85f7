import Fluent

/// How many files each patient sent in their current 24 hours (SPEC §8: at most 30), one row
/// per patient, counted by one conditional statement so that parallel sends cannot pass it.
struct CreatePatientFileAllowance: AsyncMigration {
    var name: String { "030_CreatePatientFileAllowance" }

    func prepare(on db: any Database) async throws {
        try await db.schema("patient_file_allowances")
            .field("patient_id", .uuid, .identifier(auto: false), .references("patients", "id"))
            .field("window_start", .datetime, .required)
            .field("files", .int, .required)
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("patient_file_allowances").delete()
    }
}
