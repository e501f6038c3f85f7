import Fluent

struct CreateCaseMember: AsyncMigration {
    var name: String { "004_CreateCaseMember" }

    func prepare(on db: any Database) async throws {
        try await db.schema("case_members")
            .id()
            .field("case_id", .uuid, .required, .references("cases", "id", onDelete: .cascade))
            .field("staff_id", .uuid, .required, .references("staff_users", "id"))
            .field("added_by_id", .uuid, .references("staff_users", "id"))
            .field("added_at", .datetime, .required)
            .unique(on: "case_id", "staff_id")
            .create()
        // The member's case list starts from staff_id; (case_id, staff_id) is covered by the unique index.
        try await db.sql.create(index: "case_members_staff_idx").on("case_members").column("staff_id").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("case_members").delete()
    }
}
