import Fluent
import Foundation

/// The `conversation_handovers` table: who handed a Patient Talk to whom and when (SPEC §9), so
/// the thread can say who wrote each member's message and who reads it now.
enum HandoversTable {
    /// One handover, with both members' names as others see them.
    struct Entry: Decodable, Sendable {
        let fromName: String
        let toName: String
        let handedOverAt: Date
    }

    static func insert(conversationID: UUID, from: UUID, to: UUID, by admin: UUID, at now: Date, on db: any Database) async throws {
        try await db.run(Insert(id: UUID(), conversationID: conversationID, from: from, to: to, by: admin, now: now))
    }

    /// The handovers of conversation `conversationID`, oldest first. Callers pass a conversation
    /// they found within the viewer's scope.
    static func of(_ conversationID: UUID, on db: any Database) async throws -> [Entry] {
        try await db.all(Of(conversationID: conversationID), as: Entry.self)
    }

    private struct Insert: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            INSERT INTO conversation_handovers (id, conversation_id, from_member_id, to_member_id, by_staff_id, handed_over_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """
        }
        let id: UUID, conversationID: UUID, from: UUID, to: UUID, by: UUID, now: Date
        var binds: [any SQLValue] { [id, conversationID, from, to, by, now] }
    }

    private struct Of: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT \(AccountsTable.shownName(of: "from_member")) AS from_name, \(AccountsTable.shownName(of: "to_member")) AS to_name,
                   conversation_handovers.handed_over_at
            FROM conversation_handovers
            JOIN staff_users AS from_member ON from_member.id = conversation_handovers.from_member_id
            JOIN staff_users AS to_member ON to_member.id = conversation_handovers.to_member_id
            WHERE conversation_handovers.conversation_id = $1
            ORDER BY conversation_handovers.handed_over_at ASC, conversation_handovers.id ASC
            """
        }
        let conversationID: UUID
        var binds: [any SQLValue] { [conversationID] }
    }
}
