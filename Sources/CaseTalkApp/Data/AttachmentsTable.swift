import CaseTalkCore
import Fluent
import SQLKit
import Foundation

/// The `attachments` table (SPEC §8). Who may see a file is decided in each query, as for its
/// message: the member whose own conversation it is, while still a member of the case, or the
/// patient whose account the case is joined to; and only once its message was sent and the file
/// is ready. Anything else finds nothing, so the route answers 404.
enum AttachmentsTable {
    /// A stored file, with the message it was sent with (nil: not sent yet).
    struct New: Sendable {
        let id: UUID
        let conversationID: UUID
        let messageID: UUID?
        let author: MessageAuthor
        let storeKey: StoreKey
        /// The file's own key, sealed with the data key.
        let keySealed: String
        let nameSealed: String
        let stored: AttachmentPipeline.Stored
        /// The image tool's thumbnail and view, if it made them.
        var views: UploadedFile.Views? = nil
        let status: Status
        let at: Date
    }

    /// `checking`: waiting for the virus scanner; `ready`: may be shown; `refused`: never shown.
    enum Status: String, Sendable { case checking, ready, refused }

    /// What a route needs to send a file to someone allowed to see it.
    struct Visible: Decodable, Sendable, Equatable {
        let id: UUID
        let conversationId: UUID
        let storeKey: String
        let keySealed: String
        let nameSealed: String
        let fileType: String
        let storedBytes: Int64
        let thumbnailKey: String?
        let viewKey: String?
        let viewType: String?
    }

    static func insert(_ rows: [New], on db: any Database) async throws {
        for chunk in Bucket.chunks(rows) { try await db.run(Insert(rows: Array(chunk))) }
    }

    /// Which of these stored names a row names.
    static func named(_ keys: [StoreKey], on db: any Database) async throws -> Set<String> {
        var out: Set<String> = []
        for chunk in Bucket.chunks(keys) {
            out.formUnion(try await db.rows(Named(keys: Bucket.padded(chunk.map(\.value)))).map {
                try $0.decode(column: "store_key", as: String.self)
            })
        }
        return out
    }

    /// A file as its thread shows it.
    struct Listed: Sendable {
        let id: UUID
        let messageID: UUID
        let nameSealed: String
        let type: FileType?
        let storedBytes: Int
        let takenAt: String?
        let status: Status?
        let createdAt: Date
        /// The image tool made a thumbnail and a view.
        let hasViews: Bool
    }

    /// The files sent with these messages of the conversation (which the caller found in the
    /// viewer's scope), those the virus check refused too (named, never offered); oldest first.
    static func ofMessages(_ messageIDs: [UUID], in conversationID: UUID, on db: any Database) async throws -> [Listed] {
        guard !messageIDs.isEmpty else { return [] }
        var out: [Listed] = []
        for chunk in Bucket.chunks(messageIDs) {
            out += try await db.rows(OfMessages(conversationID: conversationID, ids: Bucket.padded(Array(chunk)))).map(Self.listed)
        }
        return out
    }

    /// Joins these uploads to the message they were sent with: only the author's own uploads in
    /// that conversation not yet sent with another. How many were joined.
    static func attach(_ ids: [UUID], to messageID: UUID, conversationID: UUID, author: MessageAuthor, on db: any Database) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        struct Row: Decodable { let id: UUID }
        return try await db.all(Attach(messageID: messageID, conversationID: conversationID, author: author.rawValue,
                                       ids: Bucket.padded(ids)), as: Row.self).count
    }

    /// How many of these uploads are the author's own in that conversation and not yet sent
    /// with a message (sent ahead by the page's script, see `Paths.patientTalkFiles`).
    static func unsent(_ ids: [UUID], conversationID: UUID, author: MessageAuthor, on db: any Database) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        struct Row: Decodable { let id: UUID }
        return try await db.all(Unsent(conversationID: conversationID, author: author.rawValue, ids: Bucket.padded(ids)), as: Row.self).count
    }

    /// Removes the rows of uploads sent ahead and never sent with a message, uploaded before
    /// `before`; the names their files are stored under.
    static func removeUnsent(before: Date, on db: any Database) async throws -> [StoreKey] {
        struct Row: Decodable { let storeKey: String; let thumbnailKey: String?; let viewKey: String? }
        return try await db.all(RemoveUnsent(before: before), as: Row.self)
            .flatMap { [$0.storeKey, $0.thumbnailKey, $0.viewKey].compactMap { $0.flatMap(StoreKey.init) } }
    }

    /// The files of `memberID`'s own conversation on the case, while still a member, that were
    /// sent and are ready: the Attachments tab. Newest first, at most `limit`.
    static func ofMemberCase(_ caseID: UUID, memberID: UUID, limit: Int, on db: any Database) async throws -> [Listed] {
        try await db.rows(OfMemberCase(caseID: caseID, memberID: memberID, limit: limit)).map(Self.listed)
    }

    /// A file waiting for the virus check, with what it takes to read it.
    struct Waiting: Decodable, Sendable {
        let id: UUID
        let conversationId: UUID
        let storeKey: String
        let keySealed: String
    }

    /// Files waiting for the virus check, oldest first, at most `limit`.
    static func waiting(limit: Int, on db: any Database) async throws -> [Waiting] {
        try await db.all(WaitingForCheck(limit: limit), as: Waiting.self)
    }

    /// Moves file `id` from `checking` to `status`: true if this call did (one conditional
    /// statement, so two servers checking the same file settle it once).
    static func settle(_ id: UUID, as status: Status, on db: any Database) async throws -> Bool {
        struct Row: Decodable { let id: UUID }
        return try await !db.all(Settle(id: id, status: status.rawValue), as: Row.self).isEmpty
    }

    private static func listed(_ row: any SQLRow) throws -> Listed {
        Listed(id: try row.decode(column: "id", as: UUID.self), messageID: try row.decode(column: "message_id", as: UUID.self),
               nameSealed: try row.decode(column: "name_sealed", as: String.self),
               type: FileType(rawValue: try row.decode(column: "file_type", as: String.self)),
               storedBytes: Int(try row.decode(column: "stored_bytes", as: Int64.self)),
               takenAt: try row.decode(column: "taken_at", as: String?.self),
               status: Status(rawValue: try row.decode(column: "status", as: String.self)),
               createdAt: try row.decode(column: "created_at", as: Date.self),
               hasViews: try row.decode(column: "view_key", as: String?.self) != nil)
    }

    private static let listedColumns = "attachments.id, attachments.message_id, attachments.name_sealed, attachments.file_type, "
        + "attachments.stored_bytes, attachments.taken_at, attachments.status, attachments.created_at, attachments.view_key"

    /// File `id` if `memberID` may see it: their own conversation, on a case they are still a member of.
    static func forMember(_ id: UUID, memberID: UUID, on db: any Database) async throws -> Visible? {
        try await db.first(ForMember(id: id, memberID: memberID), as: Visible.self)
    }

    /// File `id` if `patientID` may see it: a conversation on a case joined to their account.
    static func forPatient(_ id: UUID, patientID: UUID, on db: any Database) async throws -> Visible? {
        try await db.first(ForPatient(id: id, patientID: patientID), as: Visible.self)
    }

    private static let columns = "SELECT attachments.id, attachments.conversation_id, attachments.store_key, attachments.key_sealed, "
        + "attachments.name_sealed, attachments.file_type, attachments.stored_bytes, attachments.thumbnail_key, attachments.view_key, "
        + "attachments.view_type FROM attachments "
        + "JOIN conversations ON conversations.id = attachments.conversation_id"
    private static let shown = "attachments.message_id IS NOT NULL AND attachments.status = '\(Status.ready.rawValue)'"

    private struct ForMember: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            \(columns)
            JOIN case_members ON case_members.case_id = conversations.case_id AND case_members.staff_id = conversations.member_id
            WHERE attachments.id = $1 AND conversations.member_id = $2 AND \(shown)
            """
        }
        let id: UUID, memberID: UUID
        var binds: [any SQLValue] { [id, memberID] }
    }

    private struct ForPatient: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            \(columns)
            JOIN case_patients ON case_patients.case_id = conversations.case_id
            WHERE attachments.id = $1 AND case_patients.patient_id = $2 AND \(shown)
            """
        }
        let id: UUID, patientID: UUID
        var binds: [any SQLValue] { [id, patientID] }
    }

    private struct Insert: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            INSERT INTO attachments (id, conversation_id, message_id, author_kind, store_key, key_sealed, name_sealed, file_type,
                                     stored_bytes, sha256, width, height, taken_at, status, created_at, thumbnail_key, view_key,
                                     view_type)
            VALUES \(Bucket.rows(from: 1, columns: 18, count: size))
            """
        }
        let rows: [New]
        var size: Int { rows.count }
        var binds: [any SQLValue] {
            rows.flatMap { row -> [any SQLValue] in
                let s = row.stored
                return [row.id, row.conversationID, row.messageID, row.author.rawValue, row.storeKey.value, row.keySealed, row.nameSealed,
                        s.type.rawValue, Int64(s.storedBytes), s.sha256, s.pixelSize?.width, s.pixelSize?.height, s.takenAt?.stored,
                        row.status.rawValue, row.at, row.views?.thumbnailKey.value, row.views?.viewKey.value, row.views?.type.rawValue]
            }
        }
    }

    private struct Named: Statement {
        static let writes = false
        static func text(size: Int) -> String {
            let names = Bucket.list(from: 1, count: size)
            return """
            SELECT store_key FROM attachments WHERE store_key IN (\(names))
            UNION SELECT thumbnail_key FROM attachments WHERE thumbnail_key IN (\(names))
            UNION SELECT view_key FROM attachments WHERE view_key IN (\(names))
            """
        }
        let keys: [String]
        var size: Int { keys.count }
        var binds: [any SQLValue] { keys }
    }

    private struct OfMemberCase: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT \(listedColumns) FROM attachments
            JOIN conversations ON conversations.id = attachments.conversation_id
            JOIN case_members ON case_members.case_id = conversations.case_id AND case_members.staff_id = conversations.member_id
            WHERE conversations.case_id = $1 AND conversations.member_id = $2 AND \(shown)
            ORDER BY attachments.created_at DESC, attachments.id LIMIT $3
            """
        }
        let caseID: UUID, memberID: UUID, limit: Int
        var binds: [any SQLValue] { [caseID, memberID, limit] }
    }

    private struct OfMessages: Statement {
        static let writes = false
        static func text(size: Int) -> String {
            """
            SELECT \(listedColumns) FROM attachments
            WHERE conversation_id = $1 AND message_id IN (\(Bucket.list(from: 2, count: size)))
            ORDER BY created_at, id
            """
        }
        let conversationID: UUID, ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { [conversationID] + ids }
    }

    private struct WaitingForCheck: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT id, conversation_id, store_key, key_sealed FROM attachments
            WHERE status = '\(Status.checking.rawValue)' ORDER BY created_at, id LIMIT $1
            """
        }
        let limit: Int
        var binds: [any SQLValue] { [limit] }
    }

    private struct Settle: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE attachments SET status = $1 WHERE id = $2 AND status = '\(Status.checking.rawValue)' RETURNING id"
        }
        let id: UUID, status: String
        var binds: [any SQLValue] { [status, id] }
    }

    private struct Unsent: Statement {
        static let writes = false
        static func text(size: Int) -> String {
            """
            SELECT id FROM attachments
            WHERE conversation_id = $1 AND author_kind = $2 AND message_id IS NULL AND id IN (\(Bucket.list(from: 3, count: size)))
            """
        }
        let conversationID: UUID, author: String, ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { [conversationID, author] + ids }
    }

    private struct RemoveUnsent: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1 RETURNING store_key, thumbnail_key, view_key"
        }
        let before: Date
        var binds: [any SQLValue] { [before] }
    }

    private struct Attach: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            UPDATE attachments SET message_id = $1
            WHERE conversation_id = $2 AND author_kind = $3 AND message_id IS NULL AND id IN (\(Bucket.list(from: 4, count: size)))
            RETURNING id
            """
        }
        let messageID: UUID, conversationID: UUID, author: String, ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { [messageID, conversationID, author] + ids }
    }
}
