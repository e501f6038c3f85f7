import Fluent
import Foundation

/// A column that holds one value sealed with the data key, bound to its own row (see `SealedData`).
protocol SealedColumn: Sendable {
    associatedtype ID: SQLValue & Decodable
    static var table: String { get }
    static var column: String { get }
}

/// The statements that re-seal such columns under the current key (message bodies, bound to
/// more than their row, are `MessagesTable`'s).
enum SealedColumnsTable {
    enum OutboxMessage: SealedColumn { typealias ID = UUID; static let table = "outbox", column = "sealed_message" }
    enum TwoStepKey: SealedColumn { typealias ID = UUID; static let table = "staff_users", column = "totp_key" }
    enum SetupKey: SealedColumn { typealias ID = String; static let table = "sessions", column = "pending_key" }
    enum ResetRequestEmail: SealedColumn { typealias ID = UUID; static let table = "password_reset_requests", column = "email_sealed" }
    /// An attached file's own key and its name (the file's bytes are sealed under its own key,
    /// which does not change with the data key).
    enum AttachmentKey: SealedColumn { typealias ID = UUID; static let table = "attachments", column = "key_sealed" }
    enum AttachmentName: SealedColumn { typealias ID = UUID; static let table = "attachments", column = "name_sealed" }

    struct Sealed<ID: Decodable & Sendable>: Decodable, Sendable {
        let rowId: ID
        let sealed: String
    }

    /// Up to `limit` values sealed under a key other than `currentKeyID` (an emptied or NULL
    /// value is not read).
    static func stale<C: SealedColumn>(_: C.Type, currentKeyID: String, limit: Int, on db: any Database) async throws -> [Sealed<C.ID>] {
        try await db.all(Stale<C>(currentPrefix: currentKeyID + ":%", limit: limit), as: Sealed<C.ID>.self)
    }

    /// Writes `fresh` in place of `old`, only while the value is still `old`.
    static func replace<C: SealedColumn>(_: C.Type, id: C.ID, old: String, fresh: String, on db: any Database) async throws {
        try await db.run(Replace<C>(fresh: fresh, id: id, old: old))
    }

    private struct Stale<C: SealedColumn>: Statement {
        static var writes: Bool { false }
        static func text(size _: Int) -> String {
            """
            SELECT id AS row_id, \(C.column) AS sealed FROM \(C.table)
            WHERE \(C.column) <> '' AND \(C.column) NOT LIKE $1 LIMIT $2
            """
        }
        let currentPrefix: String, limit: Int
        var binds: [any SQLValue] { [currentPrefix, limit] }
    }

    private struct Replace<C: SealedColumn>: Statement {
        static var writes: Bool { true }
        static func text(size _: Int) -> String { "UPDATE \(C.table) SET \(C.column) = $1 WHERE id = $2 AND \(C.column) = $3" }
        let fresh: String, id: C.ID, old: String
        var binds: [any SQLValue] { [fresh, id, old] }
    }
}
