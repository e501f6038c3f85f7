import Fluent

/// Rate-limit counters (one row per action, scope and account or address), in the database so
/// that every server counts against the same limits.
struct CreateRateLimit: AsyncMigration {
    var name: String { "017_CreateRateLimit" }

    func prepare(on db: any Database) async throws {
        try await db.schema("rate_limits")
            .field("bucket", .string, .identifier(auto: false))
            .field("window_index", .int64, .required)
            .field("hits", .int, .required)
            .field("expires_at", .datetime, .required)
            .create()
        try await db.sql.create(index: "rate_limits_expires_idx").on("rate_limits").column("expires_at").run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("rate_limits").delete()
    }
}
