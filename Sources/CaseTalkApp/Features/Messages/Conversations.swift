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
    /// first message), sealed, with the counters and the case's activity time, in one transaction.
    /// A send whose form key is already stored in the conversation is the same send retried: the
    /// stored message is returned and nothing else happens.
    @discardableResult
    static func send(_ text: String, by author: MessageAuthor, caseID: UUID, memberID: UUID, idempotencyKey: String?,
                     actor: AuditActor, req: Request) async throws -> Message {
        do {
            return try await store(text, by: author, caseID: caseID, memberID: memberID, idempotencyKey: idempotencyKey,
                                   actor: actor, req: req)
        } catch {
            // The same key sent twice at once: the other request stored it.
            guard idempotencyKey != nil, (error as? any DatabaseError)?.isConstraintFailure == true,
                  let conversation = try await forMember(caseID: caseID, memberID: memberID, on: req.db),
                  let stored = try await Message.query(on: req.db).filter(\.$conversationID == conversation.requireID())
                    .filter(\.$idempotencyKey == idempotencyKey).first() else { throw error }
            return stored
        }
    }

    private static func store(_ text: String, by author: MessageAuthor, caseID: UUID, memberID: UUID, idempotencyKey: String?,
                              actor: AuditActor, req: Request) async throws -> Message {
        let now = req.now
        let sealer = req.caseTalk.sealer
        return try await req.db.transaction { tx in
            // A write first: on SQLite the transaction then takes the write lock at once and waits
            // for it, where a read first would have to upgrade its lock later and fail as busy
            // when another send holds it.
            try await tx.sql.update(PatientCase.schema).set("last_activity_at", to: SQLBind(now))
                .where("id", .equal, SQLBind(caseID)).run()
            let conversation: Conversation
            if let existing = try await forMember(caseID: caseID, memberID: memberID, on: tx) {
                conversation = existing
            } else {
                guard author == .member else { throw PublicError.notFound }
                conversation = Conversation(id: UUID(), caseID: caseID, memberID: memberID, now: now)
                try await conversation.create(on: tx)
            }
            if let idempotencyKey, let stored = try await Message.query(on: tx).filter(\.$conversationID == conversation.requireID())
                .filter(\.$idempotencyKey == idempotencyKey).first() {
                return stored
            }
            let message = Message()
            message.id = UUID()
            message.idempotencyKey = idempotencyKey
            message.conversationID = try conversation.requireID()
            message.author = author
            message.keyID = Sealer.keyID
            message.bodySealed = try sealer.seal(Array(text.utf8), context: message.id!.uuidString)
            message.createdAt = now
            try await message.create(on: tx)
            let unread = author == .member ? "patient_unread" : "member_unread"
            try await tx.sql.update(Conversation.schema)
                .set("last_message_at", to: SQLBind(now))
                .set(SQLIdentifier("message_count"), to: SQLBinaryExpression(SQLIdentifier("message_count"), .add, SQLLiteral.numeric("1")))
                .set(SQLIdentifier(unread), to: SQLBinaryExpression(SQLIdentifier(unread), .add, SQLLiteral.numeric("1")))
                .where("id", .equal, SQLBind(conversation.id!))
                .run()
            try await req.audit(.messageSent, actor: actor, subject: "conversation:\(conversation.id!) message:\(message.id!)", on: tx)
            try await notify(about: author, conversationID: conversation.id!, caseID: caseID, memberID: memberID,
                             services: req.caseTalk, now: now, on: tx)
            return message
        }
    }

    static let notificationInterval: TimeInterval = 15 * 60

    /// The outbox kind of a new-message notification to `recipient`.
    static func notificationKind(to recipient: MessageAuthor) -> String {
        recipient == .patient ? "message-to-patient" : "reply-to-member"
    }

    /// SPEC §4: "nothing is sent for messages already read". Of the claimed outbox rows, the
    /// notifications whose recipient has read the conversation since (its unread count is back
    /// to 0). Their debounce mark is cleared, so the next message notifies again.
    static func readBeforeDelivery(_ rows: [(id: UUID, kind: String, conversationID: UUID?)], on db: any Database) async throws -> Set<UUID> {
        var read: Set<UUID> = []
        for recipient in [MessageAuthor.patient, .member] {
            let kind = notificationKind(to: recipient)
            let ids = rows.filter { $0.kind == kind }.compactMap(\.conversationID)
            guard !ids.isEmpty else { continue }
            let unread = recipient == .patient ? "patient_unread" : "member_unread"
            let notified = recipient == .patient ? "patient_notified_at" : "member_notified_at"
            struct Row: Decodable { let id: UUID }
            let done = Set(try await db.sql.update(Conversation.schema).set(notified, to: SQLLiteral.null)
                .where("id", .in, SQLBind.group(ids)).where(unread, .equal, SQLBind(0))
                .returning("id").all(decoding: Row.self).map(\.id))
            read.formUnion(rows.filter { $0.kind == kind && $0.conversationID.map(done.contains) == true }.map(\.id))
        }
        return read
    }

    /// SPEC §4: the other side hears by email that a message is waiting (a link, never the text),
    /// at most once per conversation per 15 minutes. Written to the outbox in the sender's
    /// transaction; the debounce is one conditional update, so parallel sends notify once.
    private static func notify(about author: MessageAuthor, conversationID: UUID, caseID: UUID, memberID: UUID,
                               services: CaseTalkServices, now: Date, on tx: any Database) async throws {
        let base = services.config.publicBaseURL.absoluteString
        let email: EmailMessage
        let column: String
        switch author {
        case .member:
            // Nobody to tell until the patient has an account; their first sign-in shows the message.
            guard let link = try await CasePatient.query(on: tx).filter(\.$id == caseID).with(\.$patient).first(),
                  let member = try await StaffUser.query(on: tx).filter(\.$id == memberID).with(\.$practice).first() else { return }
            email = StaffEmails.newMessage(to: link.patient.email, from: services.config.mailFrom,
                                           practiceName: member.practice.name, link: "\(base)/inbox/\(conversationID)")
            column = "patient_notified_at"
        case .patient:
            guard let member = try await StaffUser.find(memberID, on: tx) else { return }
            email = StaffEmails.patientReplied(to: member.email, from: services.config.mailFrom, link: "\(base)/cases/\(caseID)/talk")
            column = "member_notified_at"
        }
        let claimed = try await tx.sql.update(Conversation.schema)
            .set(column, to: SQLBind(now))
            .where("id", .equal, SQLBind(conversationID))
            .where { $0.where(column, .is, SQLLiteral.null).orWhere(column, .lessThanOrEqual, SQLBind(now.addingTimeInterval(-notificationInterval))) }
            .returning("id")
            .all()
        guard !claimed.isEmpty else { return }
        try await Outbox.enqueue(email, kind: notificationKind(to: author == .member ? .patient : .member), relatedID: conversationID,
                                 sealer: services.sealer, at: now, on: tx)
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
