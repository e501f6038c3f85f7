import CaseTalkCore
import CaseTalkViews
import Fluent
import Foundation
import SQLKit
import Vapor

/// Reading and writing Patient Talk. Every query names the signed-in person: a member's own
/// conversation on a case, or a conversation on a case joined to the signed-in patient's account
/// (SPEC §1, the privacy rule). Nothing here takes a conversation id without that scope.
enum Conversations {
    static let maxLength = 5000

    /// The member's own conversation on a case, if they have written in it.
    static func forMember(caseID: UUID, memberID: UUID, on db: any Database) async throws -> Conversation? {
        try await Conversation.query(on: db).filter(\.$caseID == caseID).filter(\.$memberID == memberID).first()
    }

    /// A conversation as the patient's pages show it.
    struct PatientView: Decodable, Sendable {
        let id: UUID
        let case_id: UUID
        let member_id: UUID
        let member_name: String
        let practice_name: String
        let case_title: String
    }

    /// Conversation `id`, only if its case belongs to the patient's account; with what the thread
    /// page shows of it, in one statement.
    static func forPatient(_ id: UUID, patientID: UUID, on db: any Database) async throws -> PatientView? {
        try await db.sql.raw("""
            SELECT conversations.id, conversations.case_id, conversations.member_id, staff_users.name AS member_name,
                   practices.name AS practice_name, cases.title AS case_title
            FROM conversations
            JOIN case_patients ON case_patients.case_id = conversations.case_id
            JOIN cases ON cases.id = conversations.case_id
            JOIN staff_users ON staff_users.id = conversations.member_id
            JOIN practices ON practices.id = staff_users.practice_id
            WHERE conversations.id = \(bind: id) AND case_patients.patient_id = \(bind: patientID)
            """).first(decoding: PatientView.self)
    }

    /// The send form of Patient Talk and of the Secure Inbox, read field by field: sends are the
    /// busiest form post.
    struct SendForm {
        let body: String?
        let idempotencyKey: String?

        init(_ req: Request) {
            body = req.formField("body")
            idempotencyKey = req.formField("idempotency_key")
        }
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
                                        body: text,
                                        actor: actor, clientAddress: req.clientAddress, at: req.now)
        return try await req.caseTalk.messages.write(draft, services: req.caseTalk, on: req.db)
    }

    /// Messages per thread page: the newest page comes first, with links to earlier ones.
    static let threadPageSize = 50

    /// Page `page` of the thread (1 = the newest messages) as `viewer` sees it, shown by `show`;
    /// opening it marks the other side's messages read (the one change a GET may make, SPEC §5)
    /// and is audited (see `ThreadViews`), while the page is being made: it is answered once both
    /// are done. Callers pass a conversation they found within the viewer's scope.
    static func open(_ conversationID: UUID, as viewer: MessageAuthor, names: (member: String, patient: String),
                     page requested: Int, actor: AuditActor, req: Request, show: (ThreadModel) async throws -> Response) async throws -> Response {
        let page = max(1, min(requested, 100_000))
        // Read column by column, the id as text: decoding 50 rows through Codable, and parsing each
        // id into a UUID only to print it again, were a tenth of a thread page (bench/PROFILE.md).
        let newestFirst = try await req.db.sql.raw("""
            SELECT id, author_kind, body_sealed, created_at, read_at FROM messages
            WHERE conversation_id = \(bind: conversationID)
            ORDER BY created_at DESC, id DESC LIMIT \(literal: threadPageSize + 1) OFFSET \(literal: (page - 1) * threadPageSize)
            """).all().map { row in
                (id: try row.decode(column: "id", as: String.self), author_kind: try row.decode(column: "author_kind", as: String.self),
                 body_sealed: try row.decode(column: "body_sealed", as: String.self),
                 created_at: try row.decode(column: "created_at", as: Date.self), read_at: try row.decode(column: "read_at", as: Date?.self))
            }
        let rows = Array(newestFirst.prefix(threadPageSize).reversed())
        let record = ThreadViews.Record(conversationID: conversationID, viewer: viewer, shown: rows.count,
                                        actor: actor, clientAddress: req.clientAddress, at: req.now)
        async let viewed: Void = req.caseTalk.views.write(record, services: req.caseTalk, on: req.db)
        let sealer = req.caseTalk.sealer
        let conversation = conversationID.uuidString
        let entries = try rows.map { row in
            let mine = row.author_kind == viewer.rawValue
            let text = String(decoding: try sealer.open(row.body_sealed, context: MessageSeal.context(
                messageID: row.id, conversationID: conversation, author: row.author_kind)), as: UTF8.self)
            return ThreadEntry(id: row.id, mine: mine,
                         author: row.author_kind == MessageAuthor.member.rawValue ? names.member : names.patient,
                         date: CaseViews.display(row.created_at), text: text,
                         read: mine ? row.read_at.map(CaseViews.display) : nil)
        }
        let shown = try await show(ThreadModel(entries: entries, earlierPage: newestFirst.count > threadPageSize ? page + 1 : nil,
                                          laterPage: page > 1 ? page - 1 : nil))
        try await viewed
        return shown
    }
}

/// Opening a thread: the other side's messages are marked read and the view goes into the audit
/// trail (SPEC §5: every view of a message). Views arriving together are written together (see
/// `WriteGroups`), in a fixed number of statements.
enum ThreadViews {
    struct Record: Sendable {
        let conversationID: UUID
        let viewer: MessageAuthor
        /// How many messages the page showed.
        let shown: Int
        let actor: AuditActor
        let clientAddress: String
        let at: Date
    }

    static func groups() -> WriteGroups<Record, Void> { WriteGroups(store: store) }

    @Sendable static func store(_ records: [Record], services: CaseTalkServices, on db: any Database) async throws -> [Result<Void, any Error>] {
        let latest = records.map(\.at).max() ?? Date()
        try await db.transaction { tx in
            for viewer in [MessageAuthor.member, .patient] {
                let ids = Array(Set(records.filter { $0.viewer == viewer }.map(\.conversationID)))
                guard !ids.isEmpty else { continue }
                let other = viewer == .member ? MessageAuthor.patient : .member
                try await tx.sql.raw("""
                    UPDATE messages SET read_at = \(bind: latest)
                    WHERE conversation_id IN (\(binds: ids)) AND author_kind = \(bind: other.rawValue) AND read_at IS NULL
                    """).run()
                let unread: SQLQueryString = viewer == .member ? "member_unread" : "patient_unread"
                try await tx.sql.raw("UPDATE conversations SET \(unread) = 0 WHERE id IN (\(binds: ids))").run()
            }
            try await Audit.record(records.map {
                AuditDraft(action: .messagesViewed, actor: $0.actor, subject: "conversation:\($0.conversationID) messages:\($0.shown)",
                           clientAddress: $0.clientAddress, at: $0.at)
            }, key: services.auditKey, on: tx)
        }
        return records.map { _ in .success(()) }
    }
}
