import Fluent
import SQLKit

/// **Invite Staff** (SPEC §9; issue 20): who is invited to which practice, as what, by whom; the
/// link's token kept only as a hash (replaced on resend, cleared once used or cancelled), its end,
/// and how the invitation ended: accepted into an account, or cancelled.
struct CreateStaffInvitation: AsyncMigration {
    var name: String { "035_CreateStaffInvitation" }

    func prepare(on db: any Database) async throws {
        try await db.schema("staff_invitations")
            .id()
            .field("practice_id", .uuid, .required, .references("practices", "id"))
            .field("email", .string, .required)
            .field("name", .string, .required)
            .field("role", .string, .required)
            .field("is_admin", .bool, .required)
            .field("token_hash", .string)
            .field("expires_at", .datetime, .required)
            .field("invited_by_id", .uuid, .required, .references("staff_users", "id"))
            .field("created_at", .datetime, .required)
            .field("sent_at", .datetime, .required)
            .field("accepted_at", .datetime)
            .field("cancelled_at", .datetime)
            .field("staff_id", .uuid, .references("staff_users", "id"))
            .unique(on: "token_hash")
            .create()
        try await db.sql.create(index: "staff_invitations_practice_idx").on("staff_invitations").column("practice_id").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("staff_invitations").delete()
    }
}
