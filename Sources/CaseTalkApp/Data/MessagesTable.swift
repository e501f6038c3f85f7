import Fluent
import Foundation

/// The `messages` table's statements. Bodies are stored sealed (see `MessageSeal`); callers
/// pass conversations they found within the signed-in person's scope.
enum MessagesTable {
    /// A message as the thread page reads it: the id as text, since it is only printed and bound
    /// into the seal (parsing 50 ids into UUIDs to print them again was measurable).
    struct InThread: Sendable {
        let id: String
        let authorKind: String
        let bodySealed: String
        let createdAt: Date
        let readAt: Date?
        /// How many files went with it.
        let fileCount: Int
    }

    /// `limit` messages of the conversation after the `offset` newest, newest first; read column
    /// by column (Codable over 50 rows was a tenth of the page).
    static func page(of conversationID: UUID, limit: Int, offset: Int, on db: any Database) async throws -> [InThread] {
        try await db.rows(Page(conversationID: conversationID, limit: limit, offset: offset)).map { row in
            InThread(id: try row.decode(column: "id", as: String.self), authorKind: try row.decode(column: "author_kind", as: String.self),
                     bodySealed: try row.decode(column: "body_sealed", as: String.self),
                     createdAt: try row.decode(column: "created_at", as: Date.self), readAt: try row.decode(column: "read_at", as: Date?.self),
                     fileCount: try row.decode(column: "file_count", as: Int.self))
        }
    }

    /// A message ready to store.
    struct New: Sendable {
        let id: UUID
        let conversationID: UUID
        let author: MessageAuthor
        let keyID: String
        let bodySealed: String
        let createdAt: Date
        let idempotencyKey: String?
        let fileCount: Int
    }

    static func insert(_ messages: [New], on db: any Database) async throws {
        for chunk in Bucket.chunks(messages) { try await db.run(Insert(messages: Array(chunk))) }
    }

    /// Message `id` has `count` files (fewer than it was stored with: some of those sent ahead
    /// were no longer waiting when it was sent, see `MessageWriter`).
    static func setFileCount(_ count: Int, of id: UUID, on db: any Database) async throws {
        try await db.run(SetFileCount(count: count, id: id))
    }

    /// A send form's key in a conversation.
    struct Key: Hashable, Sendable { let conversationID: UUID; let key: String }

    /// The messages already stored under these keys: their ids.
    static func stored(_ keys: Set<Key>, on db: any Database) async throws -> [Key: UUID] {
        guard !keys.isEmpty else { return [:] }
        struct Row: Decodable { let id: UUID; let conversationId: UUID; let idempotencyKey: String }
        let rows = try await db.all(Stored(keys: Bucket.padded(Array(keys))), as: Row.self)
        return Dictionary(rows.map { (Key(conversationID: $0.conversationId, key: $0.idempotencyKey), $0.id) }, uniquingKeysWith: { a, _ in a })
    }

    /// The messages in these conversations not by `viewer` and not yet read are read at `at`.
    static func markRead(in conversations: Set<UUID>, by viewer: MessageAuthor, at: Date, on db: any Database) async throws {
        let other = viewer == .member ? MessageAuthor.patient : .member
        try await db.run(MarkRead(at: at, conversations: Bucket.padded(Array(conversations)), author: other.rawValue))
    }

    /// A body sealed under a key other than the current one (see `SealedData`).
    struct StaleSeal: Decodable, Sendable {
        let id: UUID
        let conversationId: UUID
        let authorKind: String
        let bodySealed: String
    }

    static func staleSeals(currentKeyID: String, limit: Int, on db: any Database) async throws -> [StaleSeal] {
        try await db.all(StaleSeals(currentPrefix: currentKeyID + ":%", limit: limit), as: StaleSeal.self)
    }

    /// Writes the re-sealed body, only while the body is still the one read.
    static func reseal(id: UUID, old: String, fresh: String, keyID: String, on db: any Database) async throws {
        try await db.run(Reseal(fresh: fresh, keyID: keyID, id: id, old: old))
    }

    private struct StaleSeals: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            "SELECT id, conversation_id, author_kind, body_sealed FROM messages WHERE body_sealed NOT LIKE $1 LIMIT $2"
        }
        let currentPrefix: String, limit: Int
        var binds: [any SQLValue] { [currentPrefix, limit] }
    }

    private struct Reseal: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE messages SET body_sealed = $1, key_id = $2 WHERE id = $3 AND body_sealed = $4"
        }
        let fresh: String, keyID: String, id: UUID, old: String
        var binds: [any SQLValue] { [fresh, keyID, id, old] }
    }

    private struct Page: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT id, author_kind, body_sealed, created_at, read_at, file_count FROM messages
            WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
            """
        }
        let conversationID: UUID, limit: Int, offset: Int
        var binds: [any SQLValue] { [conversationID, limit, offset] }
    }

    private struct Insert: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            INSERT INTO messages (id, conversation_id, author_kind, key_id, body_sealed, created_at, idempotency_key, file_count)
            VALUES \(Bucket.rows(from: 1, columns: 8, count: size))
            """
        }
        let messages: [New]
        var size: Int { messages.count }
        var binds: [any SQLValue] {
            messages.flatMap { [$0.id, $0.conversationID, $0.author.rawValue, $0.keyID, $0.bodySealed, $0.createdAt, $0.idempotencyKey,
                              $0.fileCount] as [any SQLValue] }
        }
    }

    private struct SetFileCount: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE messages SET file_count = $1 WHERE id = $2" }
        let count: Int, id: UUID
        var binds: [any SQLValue] { [count, id] }
    }

    private struct Stored: Statement {
        static let writes = false
        static func text(size: Int) -> String {
            let each = (0..<size).map { "(conversation_id = $\(1 + 2 * $0) AND idempotency_key = $\(2 + 2 * $0))" }
            return "SELECT id, conversation_id, idempotency_key FROM messages WHERE \(each.joined(separator: " OR "))"
        }
        let keys: [Key]
        var size: Int { keys.count }
        var binds: [any SQLValue] { keys.flatMap { [$0.conversationID, $0.key] as [any SQLValue] } }
    }

    private struct MarkRead: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            UPDATE messages SET read_at = $1
            WHERE conversation_id IN (\(Bucket.list(from: 2, count: size))) AND author_kind = $\(size + 2) AND read_at IS NULL
            """
        }
        let at: Date, conversations: [UUID], author: String
        var size: Int { conversations.count }
        var binds: [any SQLValue] { [at] + conversations + [author] }
    }
}
