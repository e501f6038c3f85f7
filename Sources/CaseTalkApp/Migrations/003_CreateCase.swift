import Fluent

struct CreateCase: AsyncMigration {
    var name: String { "003_CreateCase" }

    func prepare(on db: any Database) async throws {
        try await db.schema("cases")
            .id()
            .field("practice_id", .uuid, .required, .references("practices", "id"))
            .field("patient_first_name", .string, .required)
            .field("patient_last_name", .string, .required)
            .field("patient_dob", .string)
            .field("patient_email", .string)
            .field("title", .string, .required)
            .field("notes", .string)
            .field("created_by_id", .uuid, .required, .references("staff_users", "id"))
            .field("created_at", .datetime, .required)
            .field("last_activity_at", .datetime, .required)
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("cases").delete()
    }
}
