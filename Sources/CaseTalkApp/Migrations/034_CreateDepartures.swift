import Fluent
import SQLKit

/// Departures (SPEC §9; issue 20): a staff account can be deactivated (never deleted); a Patient
/// Talk can be closed, and handed over from one member to another, each handover kept so the
/// thread can say who wrote what and who reads it now.
struct CreateDepartures: AsyncMigration {
    var name: String { "034_CreateDepartures" }

    func prepare(on db: any Database) async throws {
        try await db.schema("staff_users").field("deactivated_at", .datetime).update()
        try await db.schema("conversations").field("closed_at", .datetime).update()
        try await db.schema("conversation_handovers")
            .id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("from_member_id", .uuid, .required, .references("staff_users", "id"))
            .field("to_member_id", .uuid, .required, .references("staff_users", "id"))
            .field("by_staff_id", .uuid, .required, .references("staff_users", "id"))
            .field("handed_over_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "conversation_handovers_conversation_idx").on("conversation_handovers")
            .column("conversation_id").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("conversation_handovers").delete()
        try await db.schema("conversations").deleteField("closed_at").update()
        try await db.schema("staff_users").deleteField("deactivated_at").update()
    }
}
