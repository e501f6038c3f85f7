import Fluent

/// Forgot password? requests waiting for the background worker (review L1): the address sealed
/// with the data key, and where the request came from, for the audit entry of its outcome.
struct CreatePasswordResetRequest: AsyncMigration {
    var name: String { "025_CreatePasswordResetRequest" }

    func prepare(on db: any Database) async throws {
        try await db.schema("password_reset_requests")
            .field("id", .uuid, .identifier(auto: false))
            .field("email_sealed", .string, .required)
            .field("client_address", .string, .required)
            .field("requested_at", .datetime, .required)
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("password_reset_requests").delete()
    }
}
