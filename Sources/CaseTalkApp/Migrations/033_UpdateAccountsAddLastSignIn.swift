import Fluent

/// When each account last finished signing in (SPEC §9: the **Practice** page shows it for
/// staff). Set by the sign-in's last step, in the statement that admits it.
struct UpdateAccountsAddLastSignIn: AsyncMigration {
    var name: String { "033_UpdateAccountsAddLastSignIn" }

    func prepare(on db: any Database) async throws {
        for table in ["patients", "staff_users"] {
            try await db.schema(table).field("last_sign_in_at", .datetime).update()
        }
    }

    func revert(on db: any Database) async throws {
        for table in ["patients", "staff_users"] {
            try await db.schema(table).deleteField("last_sign_in_at").update()
        }
    }
}
