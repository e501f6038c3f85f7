import Fluent

struct CreateSession: AsyncMigration {
    var name: String { "005_CreateSession" }

    func prepare(on db: any Database) async throws {
        try await db.schema("sessions")
            .field("id", .string, .identifier(auto: false))
            .field("principal_kind", .string)
            .field("principal_id", .uuid)
            .field("csrf_token", .string, .required)
            .field("created_at", .datetime, .required)
            .field("last_seen_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "sessions_principal_idx").on("sessions").column("principal_id").run()
        try await db.sql.create(index: "sessions_last_seen_idx").on("sessions").column("last_seen_at").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("sessions").delete()
    }
}
