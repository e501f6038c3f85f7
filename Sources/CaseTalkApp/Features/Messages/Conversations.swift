import CaseTalkCore
import CaseTalkViews
import Fluent
import Foundation
import Vapor

/// Reading and writing Patient Talk. Every query names the signed-in person: a member's own
/// conversation on a case, or a conversation on a case joined to the signed-in patient's account
/// (SPEC §1, the privacy rule). Nothing here takes a conversation id without that scope.
enum Conversations {
    static let maxLength = 5000

    /// The member's own conversation on a case, if they have written in it.
    static func forMember(caseID: UUID, memberID: UUID, on db: any Database) async throws -> Conversation? {
        try await ConversationsTable.forMember(caseID: caseID, memberID: memberID, on: db)
    }

    /// Conversation `id`, only if its case belongs to the patient's account; with what the thread
    /// page shows of it, in one statement.
    static func forPatient(_ id: UUID, patientID: UUID, on db: any Database) async throws -> ConversationsTable.ForPatient? {
        try await ConversationsTable.forPatient(id, patientID: patientID, on: db)
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

    /// The body the form sent, checked: plain text, 1 to 5,000 characters, line breaks kept; it
    /// may be empty when files go with it (SPEC §8: a message may be files alone).
    static func body(_ raw: String?, withFiles: Bool = false) throws(ValidationError) -> String {
        guard let text = try TextInput.multiLine(raw, label: "message", maxLength: maxLength, required: !withFiles) else {
            if withFiles { return "" }
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
    /// send retried: the stored message's id is returned and nothing else happens. `files` were
    /// stored already (see `Uploads`); when the message is not stored with them (refused, or the
    /// same send retried) they are removed again.
    @discardableResult
    static func send(_ text: String, files: [UploadedFile] = [], sentAhead: [UUID] = [], by author: MessageAuthor, caseID: UUID,
                     memberID: UUID, idempotencyKey: String?, actor: AuditActor, _ use: UseCaseContext) async throws -> UUID {
        let draft = MessageWriter.Draft(messageID: UUID(), author: author, caseID: caseID, memberID: memberID, idempotencyKey: idempotencyKey,
                                        body: text, files: files, sentAhead: sentAhead, actor: actor, clientAddress: use.clientAddress,
                                        at: use.now)
        let id: UUID
        do {
            id = try await use.services.messages.write(draft, services: use.services, on: use.db)
        } catch {
            await Uploads.remove(files, from: use.services.attachments)
            throw error
        }
        if id != draft.messageID { await Uploads.remove(files, from: use.services.attachments) }
        return id
    }

    /// Messages per thread page: the newest page comes first, with links to earlier ones.
    static let threadPageSize = 50

    /// Page `page` of the thread (1 = the newest messages) as `viewer` sees it. Opening it marks
    /// the other side's messages read (the one change a GET may make, SPEC §5) and is audited
    /// (see `ThreadViews`), while the bodies are opened: it returns once both are done. Callers
    /// pass a conversation they found within the viewer's scope. After a handover (SPEC §9) each
    /// member's message is signed by whoever owned the conversation when it was written, and the
    /// thread says who continues it.
    static func open(_ conversationID: UUID, as viewer: MessageAuthor, names: (member: String, patient: String), zone: ShownZone,
                     handovers: [HandoversTable.Entry] = [], page requested: Int, actor: AuditActor,
                     _ use: UseCaseContext) async throws -> ThreadModel {
        let page = max(1, min(requested, 100_000))
        let newestFirst = try await MessagesTable.page(of: conversationID, limit: threadPageSize + 1,
                                                       offset: (page - 1) * threadPageSize, on: use.db)
        let rows = Array(newestFirst.prefix(threadPageSize).reversed())
        let record = ThreadViews.Record(conversationID: conversationID, viewer: viewer, shown: rows.count,
                                        showsUnread: rows.contains { $0.authorKind != viewer.rawValue && $0.readAt == nil },
                                        actor: actor, clientAddress: use.clientAddress, at: use.now)
        async let viewed: Void = use.services.views.write(record, services: use.services, on: use.db)
        let sealer = use.services.sealer
        let conversation = conversationID.uuidString
        let files = try await Attachments.shown(withMessages: rows.filter { $0.fileCount > 0 }.map(\.id), in: conversationID,
                                                sealer: sealer, on: use.db)
        let entries = try rows.map { row in
            let byMember = row.authorKind == MessageAuthor.member.rawValue
            // Written before a handover: by the member who handed it on.
            let earlierMember = byMember ? handovers.first { $0.handedOverAt > row.createdAt }?.fromName : nil
            let mine = row.authorKind == viewer.rawValue && earlierMember == nil
            let text = String(decoding: try sealer.open(row.bodySealed, context: MessageSeal.context(
                messageID: row.id, conversationID: conversation, author: row.authorKind)), as: UTF8.self)
            return ThreadEntry(id: row.id, mine: mine,
                         author: byMember ? earlierMember ?? names.member : names.patient,
                         date: zone.display(row.createdAt), text: text,
                         read: mine ? row.readAt.map(zone.display) : nil, files: row.fileCount > 0 ? UUID(uuidString: row.id).flatMap { files[$0] } ?? [] : [])
        }
        try await viewed
        return ThreadModel(entries: entries, earlierPage: newestFirst.count > threadPageSize ? page + 1 : nil,
                           laterPage: page > 1 ? page - 1 : nil, handover: handovers.last.map {
                               "Continued by \($0.toName) since \(zone.display($0.handedOverAt)); previously \($0.fromName)"
                           })
    }
}

/// Opening a thread: the view goes into the audit trail (SPEC §5: every view of a message) and,
/// when the page shows a message of the other side's not yet read, the other side's messages are
/// marked read. A page with nothing unread marks nothing: the unread are always the newest, so
/// such a page means none had arrived when it was read (one arriving meanwhile stays unread, as it
/// was not seen). Views arriving together are written together (see `WriteGroups`), in a fixed
/// number of statements.
enum ThreadViews {
    struct Record: Sendable {
        let conversationID: UUID
        let viewer: MessageAuthor
        /// How many messages the page showed.
        let shown: Int
        /// Whether one of them is the other side's and was unread.
        let showsUnread: Bool
        let actor: AuditActor
        let clientAddress: String
        let at: Date
    }

    static func groups() -> WriteGroups<Record, Void> { WriteGroups(store: store) }

    @Sendable static func store(_ records: [Record], services: CaseTalkServices, on db: any Database) async throws -> [Result<Void, any Error>] {
        let latest = records.map(\.at).max() ?? Date()
        try await db.transaction { tx in
            for viewer in [MessageAuthor.member, .patient] {
                let ids = Set(records.filter { $0.viewer == viewer && $0.showsUnread }.map(\.conversationID))
                guard !ids.isEmpty else { continue }
                try await MessagesTable.markRead(in: ids, by: viewer, at: latest, on: tx)
                try await ConversationsTable.markSeen(ids, by: viewer, on: tx)
            }
            try await Audit.record(records.map {
                AuditDraft(action: .messagesViewed, actor: $0.actor, subject: "conversation:\($0.conversationID) messages:\($0.shown)",
                           clientAddress: $0.clientAddress, at: $0.at)
            }, key: services.auditKey, on: tx)
        }
        return records.map { _ in .success(()) }
    }
}
