import Fluent
import SQLKit

/// The audit trail is append-only in the database itself: an UPDATE or DELETE of an entry is
/// refused by a trigger, whoever sends it. (Someone who can drop the trigger can still edit
/// rows; `casetalk audit verify` then finds the break in the hash chain.)
struct UpdateAuditEntryAppendOnly: AsyncMigration {
    var name: String { "019_UpdateAuditEntryAppendOnly" }
    static let refusal = "the audit trail is append-only"

    func prepare(on db: any Database) async throws {
        let sql = db.sql
        if sql.dialect.name == "sqlite" {
            for (trigger, event) in [("audit_entries_no_update", "UPDATE"), ("audit_entries_no_delete", "DELETE")] {
                try await sql.raw("""
                    CREATE TRIGGER \(unsafeRaw: trigger) BEFORE \(unsafeRaw: event) ON audit_entries \
                    BEGIN SELECT RAISE(ABORT, '\(unsafeRaw: Self.refusal)'); END
                    """).run()
            }
        } else {
            try await sql.raw("""
                CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS \
                $$ BEGIN RAISE EXCEPTION '\(unsafeRaw: Self.refusal)'; END $$
                """).run()
            try await sql.raw("""
                CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries \
                FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()
                """).run()
        }
    }

    func revert(on db: any Database) async throws {
        try await Self.dropGuards(on: db)
    }

    /// Removes the triggers (the revert; tests that tamper with the trail on purpose use it too).
    static func dropGuards(on db: any Database) async throws {
        let sql = db.sql
        if sql.dialect.name == "sqlite" {
            try await sql.raw("DROP TRIGGER IF EXISTS audit_entries_no_update").run()
            try await sql.raw("DROP TRIGGER IF EXISTS audit_entries_no_delete").run()
        } else {
            try await sql.raw("DROP TRIGGER IF EXISTS audit_entries_no_change ON audit_entries").run()
            try await sql.raw("DROP FUNCTION IF EXISTS audit_entries_append_only()").run()
        }
    }
}
