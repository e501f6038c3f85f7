import CaseTalkCore
import Fluent
import Foundation
import SQLKit

/// Every value CaseTalk seals with the data key, and re-sealing them under the current key
/// (`casetalk keys rotate`, and migration 026 for values sealed before keys had ids). Each value
/// is rewritten by a statement that checks it is still the one read, so a value changed meanwhile
/// is read again rather than overwritten.
enum SealedData {
    struct Counts: Equatable, Sendable {
        var messages = 0, outbox = 0, twoStepKeys = 0, setupKeys = 0, resetRequests = 0
        var total: Int { messages + outbox + twoStepKeys + setupKeys + resetRequests }
    }

    /// How a value of each kind is bound (the context it was sealed with).
    static func outboxContext(_ id: UUID) -> String { "outbox:\(id)" }
    static func setupKeyContext(_ sessionIDHash: String) -> String { "totp-setup:\(sessionIDHash)" }

    /// Re-seals, under `sealer`'s current key, every value sealed under another key. A value no
    /// key of the ring opens stops the run with an error (nothing is lost: it stays as it was).
    @discardableResult
    static func resealAll(with sealer: Sealer, on db: any Database) async throws -> Counts {
        var counts = Counts()
        let stale = sealer.currentKeyID + ":%"

        struct MessageRow: Decodable { let id: UUID; let conversation_id: UUID; let author_kind: String; let body_sealed: String }
        counts.messages = try await batches {
            try await db.sql.raw("""
                SELECT id, conversation_id, author_kind, body_sealed FROM messages WHERE body_sealed NOT LIKE \(bind: stale) LIMIT 500
                """).all(decoding: MessageRow.self)
        } reseal: { row in
            let bound = MessageSeal.context(messageID: row.id, conversationID: row.conversation_id, author: row.author_kind)
            // Before key ids, a body was bound to its message id alone.
            let sealedWith = row.body_sealed.hasPrefix(Sealer.legacyKeyID + ":") ? row.id.uuidString : bound
            let fresh = try sealer.seal(try sealer.open(row.body_sealed, context: sealedWith), context: bound)
            try await db.sql.raw("""
                UPDATE messages SET body_sealed = \(bind: fresh), key_id = \(bind: sealer.currentKeyID)
                WHERE id = \(bind: row.id) AND body_sealed = \(bind: row.body_sealed)
                """).run()
        }

        // Values bound to their own row, each by a context made from the row's id (a delivered
        // email's sealed copy is emptied, and a column may be NULL: neither is read).
        counts.outbox = try await resealColumn("outbox", "sealed_message", id: UUID.self, context: outboxContext, sealer: sealer, on: db)
        counts.twoStepKeys = try await resealColumn("staff_users", "totp_key", id: UUID.self, context: StaffTwoStep.keyContext,
                                                    sealer: sealer, on: db)
        counts.setupKeys = try await resealColumn("sessions", "pending_key", id: String.self, context: setupKeyContext,
                                                  sealer: sealer, on: db)
        counts.resetRequests = try await resealColumn("password_reset_requests", "email_sealed", id: UUID.self,
                                                      context: PasswordResets.requestContext, sealer: sealer, on: db)
        return counts
    }

    private static func resealColumn<ID: Codable & Sendable>(_ table: String, _ column: String, id: ID.Type,
                                                             context: (ID) -> String, sealer: Sealer,
                                                             on db: any Database) async throws -> Int {
        return try await batches {
            try await db.sql.raw("""
                SELECT id AS row_id, \(ident: column) AS sealed FROM \(ident: table)
                WHERE \(ident: column) <> '' AND \(ident: column) NOT LIKE \(bind: sealer.currentKeyID + ":%") LIMIT 500
                """).all(decoding: SealedRow<ID>.self)
        } reseal: { row in
            let bound = context(row.row_id)
            let fresh = try sealer.seal(try sealer.open(row.sealed, context: bound), context: bound)
            try await db.sql.raw("""
                UPDATE \(ident: table) SET \(ident: column) = \(bind: fresh) WHERE id = \(bind: row.row_id) AND \(ident: column) = \(bind: row.sealed)
                """).run()
        }
    }

    private struct SealedRow<ID: Decodable>: Decodable { let row_id: ID; let sealed: String }

    /// Reads a batch, re-seals each row, and reads again until none is left; the number done.
    private static func batches<Row>(_ read: () async throws -> [Row], reseal: (Row) async throws -> Void) async throws -> Int {
        var done = 0
        while true {
            let rows = try await read()
            if rows.isEmpty { return done }
            for row in rows { try await reseal(row) }
            done += rows.count
        }
    }
}
