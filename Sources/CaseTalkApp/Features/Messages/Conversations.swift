import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Vapor

/// Reading and writing Patient Talk. Every query names the signed-in person: a member's own
/// conversation on a case, or a conversation on a case joined to the signed-in patient's account
/// (SPEC §1, the privacy rule). Nothing here takes a conversation id without that scope.
enum Conversations {
    static let maxLength = 5000

    /// One message as a thread shows it.
    struct Entry: Encodable, Sendable {
        let id: String
        let mine: Bool
        let author: String
        let date: String
        let text: String
        /// For the viewer's own messages: when the other side first opened it.
        let read: String?
    }

    /// The member's own conversation on a case, if they have written in it.
    static func forMember(caseID: UUID, memberID: UUID, on db: any Database) async throws -> Conversation? {
        try await Conversation.query(on: db).filter(\.$caseID == caseID).filter(\.$memberID == memberID).first()
    }

    /// Conversation `id`, only if its case belongs to the patient's account.
    static func forPatient(_ id: UUID, patientID: UUID, on db: any Database) async throws -> Conversation? {
        try await Conversation.query(on: db)
            .join(CasePatient.self, on: \Conversation.$caseID == \CasePatient.$id)
            .filter(\.$id == id)
            .filter(CasePatient.self, \.$patient.$id == patientID)
            .first()
    }

    /// The body the form sent, checked: plain text, 1 to 5,000 characters, line breaks kept.
    static func body(_ raw: String?) throws(ValidationError) -> String {
        guard let text = try TextInput.multiLine(raw, label: "message", maxLength: maxLength, required: true) else {
            throw ValidationError("Enter the message.")
        }
        return text
    }

    /// The send form's key, if it has the shape of one (forms carry `SecureRandom.token()`).
    static func idempotencyKey(_ raw: String?) -> String? {
        guard let raw, SecureRandom.isTokenShaped(raw) else { return nil }
        return raw
    }

    /// Adds a message by `author` to the member's conversation on the case (made on the member's
    /// first message), sealed, with the counters, the case's activity time, the audit entry and the
    /// notification, in one transaction shared with the sends arriving at the same time (see
    /// `MessageWriter`). A send whose form key is already stored in the conversation is the same
    /// send retried: the stored message's id is returned and nothing else happens.
    @discardableResult
    static func send(_ text: String, by author: MessageAuthor, caseID: UUID, memberID: UUID, idempotencyKey: String?,
                     actor: AuditActor, req: Request) async throws -> UUID {
        let id = UUID()
        let draft = MessageWriter.Draft(messageID: id, author: author, caseID: caseID, memberID: memberID, idempotencyKey: idempotencyKey,
                                        bodySealed: try req.caseTalk.sealer.seal(Array(text.utf8), context: id.uuidString),
                                        actor: actor, clientAddress: req.clientAddress, at: req.now)
        return try await req.caseTalk.messages.write(draft, services: req.caseTalk, on: req.db)
    }

    /// Messages per thread page: the newest page comes first, with links to earlier ones.
    static let threadPageSize = 50

    /// One page of a thread, oldest first within the page.
    struct Thread: Encodable, Sendable {
        let entries: [Entry]
        /// The page of older messages, if any; and of newer ones, when this is not the newest.
        let earlierPage: Int?
        let laterPage: Int?

        static let empty = Thread(entries: [], earlierPage: nil, laterPage: nil)
    }

    /// Page `page` of the thread (1 = the newest messages) as `viewer` sees it; opening it marks
    /// the other side's messages read (the one change a GET may make, SPEC §5) and is audited.
    static func open(_ conversation: Conversation, as viewer: MessageAuthor, names: (member: String, patient: String),
                     page requested: Int, actor: AuditActor, req: Request) async throws -> Thread {
        let conversationID = try conversation.requireID()
        let page = max(1, min(requested, 100_000))
        struct Row: Decodable { let id: UUID; let author_kind: String; let body_sealed: String; let created_at: Date; let read_at: Date? }
        let newestFirst = try await req.db.sql.select()
            .columns("id", "author_kind", "body_sealed", "created_at", "read_at")
            .from(Message.schema)
            .where("conversation_id", .equal, SQLBind(conversationID))
            .orderBy("created_at", .descending).orderBy("id", .descending)
            .limit(threadPageSize + 1).offset((page - 1) * threadPageSize)
            .all(decoding: Row.self)
        let rows = Array(newestFirst.prefix(threadPageSize).reversed())
        let now = req.now
        let other = viewer == .member ? MessageAuthor.patient : .member
        let unreadColumn = viewer == .member ? "member_unread" : "patient_unread"
        try await req.db.transaction { tx in
            try await tx.sql.update(Message.schema).set("read_at", to: SQLBind(now))
                .where("conversation_id", .equal, SQLBind(conversationID))
                .where("author_kind", .equal, SQLBind(other.rawValue))
                .where("read_at", .is, SQLLiteral.null)
                .run()
            try await tx.sql.update(Conversation.schema).set(unreadColumn, to: SQLBind(0))
                .where("id", .equal, SQLBind(conversationID)).run()
            try await req.audit(.messagesViewed, actor: actor, subject: "conversation:\(conversationID) messages:\(rows.count)", on: tx)
        }
        let sealer = req.caseTalk.sealer
        let entries = try rows.map { row in
            let mine = row.author_kind == viewer.rawValue
            let text = String(decoding: try sealer.open(row.body_sealed, context: row.id.uuidString), as: UTF8.self)
            return Entry(id: row.id.uuidString, mine: mine,
                         author: row.author_kind == MessageAuthor.member.rawValue ? names.member : names.patient,
                         date: CaseViews.display(row.created_at), text: text,
                         read: mine ? row.read_at.map(CaseViews.display) : nil)
        }
        return Thread(entries: entries, earlierPage: newestFirst.count > threadPageSize ? page + 1 : nil,
                      laterPage: page > 1 ? page - 1 : nil)
    }
}
