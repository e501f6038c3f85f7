import CaseTalkCore
import Fluent
import Foundation
import Vapor

/// Stores Patient Talk messages, in groups (see `WriteGroups`): for a whole group, the cases
/// touched, the memberships and conversations found or made, the form keys already stored, the
/// messages, the counters, the audit entries and the notifications take a fixed number of
/// statements, in plain SQL (these run more than anything else that writes).
enum MessageWriter {
    /// One send, stamped before it queues. Its body is sealed in the group's transaction, once its
    /// conversation is known, since the seal binds it (review L7; AES-GCM of at most 64 KB is
    /// microseconds beside the statements).
    struct Draft: Sendable {
        let messageID: UUID
        let author: MessageAuthor
        let caseID: UUID
        let memberID: UUID
        let idempotencyKey: String?
        /// May be empty when files go with it.
        let body: String
        /// Stored already (see `Uploads`); their rows are written with the message.
        var files: [UploadedFile] = []
        /// Files the author sent ahead into this conversation (`Paths.patientTalkFiles`), joined
        /// to the message in its transaction if they are still waiting, each to one message only.
        var sentAhead: [UUID] = []
        let actor: AuditActor
        let clientAddress: String
        let at: Date
    }

    /// The writer the services keep. Each draft's answer is its message's id, or the id of the
    /// message stored earlier under the same form key in the same conversation. A send by someone
    /// who is not a member of the case, or a patient's send into a conversation no member
    /// started, fails with `PublicError.notFound`: the membership is checked in the write's own query.
    static func groups() -> WriteGroups<Draft, UUID> { WriteGroups(store: store) }

    private typealias Pair = ConversationsTable.Pair

    /// One group in one transaction; an answer per draft, in order.
    @Sendable static func store(_ drafts: [Draft], services: CaseTalkServices, on db: any Database) async throws -> [Result<UUID, any Error>] {
        let latest = drafts.map(\.at).max() ?? Date()
        return try await db.transaction { tx in
            let pairs = Set(drafts.map { Pair(caseID: $0.caseID, memberID: $0.memberID) })
            // A write first: on SQLite the transaction then takes the write lock at once and waits
            // for it, where a read first would have to upgrade its lock later and could fail as busy.
            try await ConversationsTable.touchSenders(pairs, at: latest, on: tx)

            // Only a case's members write in it, and a patient answers only a conversation a member started.
            var (members, conversations) = try await ConversationsTable.memberships(pairs, on: tx)
            let missing = Set(drafts.filter { $0.author == .member }.map { Pair(caseID: $0.caseID, memberID: $0.memberID) })
                .intersection(members).subtracting(conversations.keys)
            if !missing.isEmpty {
                // A member's first message makes the conversation (another server may make it at the same moment).
                try await ConversationsTable.create(missing, at: latest, on: tx)
                conversations.merge(try await ConversationsTable.memberships(missing, on: tx).conversations) { old, _ in old }
            }
            members.formIntersection(conversations.keys)

            var keys: Set<MessagesTable.Key> = []
            for draft in drafts {
                if let key = draft.idempotencyKey, let id = conversations[Pair(caseID: draft.caseID, memberID: draft.memberID)] {
                    keys.insert(MessagesTable.Key(conversationID: id, key: key))
                }
            }
            var stored = try await MessagesTable.stored(keys, on: tx)
            var results: [Result<UUID, any Error>] = []
            var fresh: [(draft: Draft, conversationID: UUID)] = []
            for draft in drafts {
                let pair = Pair(caseID: draft.caseID, memberID: draft.memberID)
                guard members.contains(pair), let conversationID = conversations[pair] else {
                    results.append(.failure(PublicError.notFound))
                    continue
                }
                if let key = draft.idempotencyKey {
                    let slot = MessagesTable.Key(conversationID: conversationID, key: key)
                    if let id = stored[slot] {
                        results.append(.success(id))
                        continue
                    }
                    stored[slot] = draft.messageID
                }
                fresh.append((draft, conversationID))
                results.append(.success(draft.messageID))
            }
            guard !fresh.isEmpty else { return results }

            let sealer = services.sealer
            try await MessagesTable.insert(try fresh.map { draft, conversationID in
                MessagesTable.New(id: draft.messageID, conversationID: conversationID, author: draft.author, keyID: sealer.currentKeyID,
                                  bodySealed: try sealer.seal(Array(draft.body.utf8), context: MessageSeal.context(
                                      messageID: draft.messageID, conversationID: conversationID, author: draft.author.rawValue)),
                                  createdAt: draft.at, idempotencyKey: draft.idempotencyKey,
                                  fileCount: draft.files.count + draft.sentAhead.count)
            }, on: tx)
            for (draft, conversationID) in fresh where !draft.sentAhead.isEmpty {
                // One conditional statement each: a file sent ahead goes with one message only,
                // however many sends name it at once. The send checked they were waiting; one
                // that was taken meanwhile is left out and the count says so.
                let joined = try await AttachmentsTable.attach(draft.sentAhead, to: draft.messageID, conversationID: conversationID,
                                                               author: draft.author, on: tx)
                if joined < draft.sentAhead.count {
                    try await MessagesTable.setFileCount(draft.files.count + joined, of: draft.messageID, on: tx)
                }
            }
            let files = fresh.flatMap { draft, conversationID in
                draft.files.map { file in
                    AttachmentsTable.New(id: file.id, conversationID: conversationID, messageID: draft.messageID, author: draft.author,
                                         storeKey: file.storeKey, keySealed: file.keySealed, nameSealed: file.nameSealed,
                                         stored: file.stored, views: file.views, status: services.scanner == nil ? .ready : .checking,
                                         at: draft.at)
                }
            }
            if !files.isEmpty { try await AttachmentsTable.insert(files, on: tx) }
            var counts: [UUID: ConversationsTable.Counts] = [:]
            for (draft, id) in fresh {
                counts[id, default: .init()].total += 1
                if draft.author == .member { counts[id, default: .init()].byMember += 1 } else { counts[id, default: .init()].byPatient += 1 }
            }
            try await ConversationsTable.count(counts, at: latest, on: tx)
            try await Audit.record(fresh.flatMap { draft, conversationID in
                [AuditDraft(action: .messageSent, actor: draft.actor, subject: "conversation:\(conversationID) message:\(draft.messageID)",
                            clientAddress: draft.clientAddress, at: draft.at)]
                    + draft.files.map { file in
                        AuditDraft(action: .attachmentUploaded, actor: draft.actor,
                                   subject: "conversation:\(conversationID) message:\(draft.messageID) attachment:\(file.id)",
                                   clientAddress: draft.clientAddress, at: draft.at)
                    }
            }, key: services.auditKey, on: tx)
            for recipient in [MessageAuthor.patient, .member] {
                let ids = Set(fresh.filter { $0.draft.author != recipient }.map(\.conversationID))
                try await Notifications.claimAndQueue(to: recipient, conversations: ids, services: services, now: latest, on: tx)
            }
            return results
        }
    }
}
