import Fluent

struct CreateStaffUser: AsyncMigration {
    var name: String { "002_CreateStaffUser" }

    func prepare(on db: any Database) async throws {
        try await db.schema("staff_users")
            .id()
            .field("practice_id", .uuid, .required, .references("practices", "id"))
            .field("email", .string, .required)
            .field("name", .string, .required)
            .field("role", .string, .required)
            .field("is_admin", .bool, .required)
            .field("password_hash", .string, .required)
            .field("failed_logins", .int, .required)
            .field("locked_until", .datetime)
            .field("created_at", .datetime, .required)
            .unique(on: "email")
            .create()
        try await db.sql.create(index: "staff_users_practice_idx").on("staff_users").column("practice_id").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("staff_users").delete()
    }
}
