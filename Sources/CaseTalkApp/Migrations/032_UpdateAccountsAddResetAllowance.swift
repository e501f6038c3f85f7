import Fluent

/// The reset emails an account was sent in its current hour (SPEC §4: at most 3), on the account
/// row itself, so that one conditional update decides each: two servers handling two requests
/// for one account at once cannot both count the same two earlier emails and send a fourth.
/// The hour starts with the first email after the last one ended.
struct UpdateAccountsAddResetAllowance: AsyncMigration {
    var name: String { "032_UpdateAccountsAddResetAllowance" }

    func prepare(on db: any Database) async throws {
        // One column a statement: SQLite adds no more at once.
        for table in ["patients", "staff_users"] {
            try await db.schema(table).field("reset_window_start", .datetime).update()
            try await db.schema(table).field("reset_emails", .int, .required, .sql(.default(0))).update()
        }
    }

    func revert(on db: any Database) async throws {
        for table in ["patients", "staff_users"] {
            try await db.schema(table).deleteField("reset_emails").update()
            try await db.schema(table).deleteField("reset_window_start").update()
        }
    }
}
