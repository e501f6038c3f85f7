import CaseTalkCore
import Fluent
import Foundation

/// Every value CaseTalk seals with the data key, and re-sealing them under the current key
/// (`casetalk keys rotate`, and migration 026 for values sealed before keys had ids). Each value
/// is rewritten by a statement that checks it is still the one read, so a value changed meanwhile
/// is read again rather than overwritten.
enum SealedData {
    struct Counts: Equatable, Sendable {
        var messages = 0, outbox = 0, twoStepKeys = 0, setupKeys = 0, resetRequests = 0, attachmentKeys = 0, attachmentNames = 0
        var total: Int { messages + outbox + twoStepKeys + setupKeys + resetRequests + attachmentKeys + attachmentNames }
    }

    /// How a value of each kind is bound (the context it was sealed with).
    static func outboxContext(_ id: UUID) -> String { "outbox:\(id)" }
    static func setupKeyContext(_ sessionIDHash: String) -> String { "totp-setup:\(sessionIDHash)" }
    /// A staff member's TOTP key: another account's key cannot be moved onto this one.
    static func twoStepKeyContext(_ staffID: UUID) -> String { "totp-key:\(staffID)" }
    /// A Forgot password? request's address.
    static func resetRequestContext(_ id: UUID) -> String { "reset-request:\(id)" }

    /// Re-seals, under `sealer`'s current key, every value sealed under another key. A value no
    /// key of the ring opens stops the run with an error (nothing is lost: it stays as it was).
    @discardableResult
    /// `attachments`: false for migration 026, which runs before the attachments table exists
    /// (its values were sealed with key ids from the start).
    static func resealAll(with sealer: Sealer, on db: any Database, attachments: Bool = true) async throws -> Counts {
        var counts = Counts()
        counts.messages = try await batches {
            try await MessagesTable.staleSeals(currentKeyID: sealer.currentKeyID, limit: batchSize, on: db)
        } reseal: { row in
            let bound = MessageSeal.context(messageID: row.id, conversationID: row.conversationId, author: row.authorKind)
            // Before key ids, a body was bound to its message id alone.
            let sealedWith = row.bodySealed.hasPrefix(Sealer.legacyKeyID + ":") ? row.id.uuidString : bound
            let fresh = try sealer.seal(try sealer.open(row.bodySealed, context: sealedWith), context: bound)
            try await MessagesTable.reseal(id: row.id, old: row.bodySealed, fresh: fresh, keyID: sealer.currentKeyID, on: db)
        }

        // Values bound to their own row, each by a context made from the row's id (a delivered
        // email's sealed copy is emptied, and a column may be NULL: neither is read).
        counts.outbox = try await resealColumn(SealedColumnsTable.OutboxMessage.self, context: outboxContext, sealer: sealer, on: db)
        counts.twoStepKeys = try await resealColumn(SealedColumnsTable.TwoStepKey.self, context: twoStepKeyContext,
                                                    sealer: sealer, on: db)
        counts.setupKeys = try await resealColumn(SealedColumnsTable.SetupKey.self, context: setupKeyContext, sealer: sealer, on: db)
        counts.resetRequests = try await resealColumn(SealedColumnsTable.ResetRequestEmail.self, context: resetRequestContext,
                                                      sealer: sealer, on: db)
        guard attachments else { return counts }
        counts.attachmentKeys = try await resealColumn(SealedColumnsTable.AttachmentKey.self, context: UploadedFile.keyContext,
                                                       sealer: sealer, on: db)
        counts.attachmentNames = try await resealColumn(SealedColumnsTable.AttachmentName.self, context: UploadedFile.nameContext,
                                                        sealer: sealer, on: db)
        return counts
    }

    private static let batchSize = 500

    private static func resealColumn<C: SealedColumn>(_ column: C.Type, context: (C.ID) -> String, sealer: Sealer,
                                                      on db: any Database) async throws -> Int {
        try await batches {
            try await SealedColumnsTable.stale(column, currentKeyID: sealer.currentKeyID, limit: batchSize, on: db)
        } reseal: { row in
            let bound = context(row.rowId)
            let fresh = try sealer.seal(try sealer.open(row.sealed, context: bound), context: bound)
            try await SealedColumnsTable.replace(column, id: row.rowId, old: row.sealed, fresh: fresh, on: db)
        }
    }

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
