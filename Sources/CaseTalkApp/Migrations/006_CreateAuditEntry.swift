import Fluent
import CaseTalkCore
import SQLKit

struct CreateAuditEntry: AsyncMigration {
    var name: String { "006_CreateAuditEntry" }

    func prepare(on db: any Database) async throws {
        try await db.schema("audit_entries")
            .field("seq", .int64, .identifier(auto: false))
            .field("occurred_at_ms", .int64, .required)
            .field("actor_kind", .string, .required)
            .field("actor_id", .string, .required)
            .field("action", .string, .required)
            .field("subject", .string, .required)
            .field("client_address", .string, .required)
            .field("previous_hash", .string, .required)
            .field("hash", .string, .required)
            .create()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("audit_entries").delete()
    }
}

/// The head of the audit chain: the last sequence number and hash. Appending updates this row
/// first, which serialises writers on both engines (a row lock on PostgreSQL, the write lock on
/// SQLite), and lets `audit verify` notice entries cut from the end.
struct CreateAuditHead: AsyncMigration {
    var name: String { "007_CreateAuditHead" }

    func prepare(on db: any Database) async throws {
        try await db.schema("audit_head")
            .field("id", .int, .identifier(auto: false))
            .field("seq", .int64, .required)
            .field("hash", .string, .required)
            .create()
        try await db.sql.insert(into: "audit_head")
            .columns("id", "seq", "hash")
            .values(SQLBind(1), SQLBind(Int64(0)), SQLBind(AuditChain.genesis))
            .run()
    }

    func revert(on db: any Database) async throws {
        try await db.schema("audit_head").delete()
    }
}
