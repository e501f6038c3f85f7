import CaseTalkCore
import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Stores Patient Talk messages in groups. Sends that arrive while a group is being written wait
/// (without a thread) and go together in the next one: one transaction, and a fixed number of
/// statements for the whole group (the cases touched, the conversations found or made, the form
/// keys already stored, the messages, the counters, the audit entries, the notifications). Each
/// send still gets its own answer: a send that cannot be stored fails alone, because a group
/// that fails is written again one send at a time.
///
/// Writers on one database take turns anyway (SQLite has one write lock; on PostgreSQL every
/// send appends to the one audit chain), so grouping is where the throughput comes from: the
/// lock is taken, and the write-ahead log synced, once per group instead of once per send.
final class MessageWriter: Sendable {
    /// One send, sealed and stamped before it queues, so the group's transaction does no crypto.
    struct Draft: Sendable {
        let messageID: UUID
        let author: MessageAuthor
        let caseID: UUID
        let memberID: UUID
        let idempotencyKey: String?
        let bodySealed: String
        let actor: AuditActor
        let clientAddress: String
        let at: Date
    }

    /// The most sends in one group (binds per statement stay far below every engine's limit).
    static let maxGroup = 128

    private typealias Answer = CheckedContinuation<Result<UUID, any Error>, Never>
    private struct State {
        var queue: [(draft: Draft, answer: Answer)] = []
        var writing = false
    }
    private let state = NIOLockedValueBox(State())

    /// Stores the message, or finds the one stored earlier under the same form key in the same
    /// conversation; its id. A patient's send into a conversation that does not exist fails with
    /// `PublicError.notFound` (only members start conversations).
    func write(_ draft: Draft, services: CaseTalkServices, on db: any Database) async throws -> UUID {
        let result = await withCheckedContinuation { (answer: Answer) in
            let startWriting = state.withLockedValue { state in
                state.queue.append((draft, answer))
                if state.writing { return false }
                state.writing = true
                return true
            }
            if startWriting { Task { await self.drain(services: services, on: db) } }
        }
        return try result.get()
    }

    /// Writes groups until nothing waits.
    private func drain(services: CaseTalkServices, on db: any Database) async {
        while let group = nextGroup() {
            await write(group, services: services, on: db)
        }
    }

    private func nextGroup() -> [(draft: Draft, answer: Answer)]? {
        state.withLockedValue { state in
            guard !state.queue.isEmpty else {
                state.writing = false
                return nil
            }
            let group = Array(state.queue.prefix(Self.maxGroup))
            state.queue.removeFirst(group.count)
            return group
        }
    }

    private func write(_ group: [(draft: Draft, answer: Answer)], services: CaseTalkServices, on db: any Database) async {
        do {
            let results = try await Self.store(group.map(\.draft), services: services, on: db)
            for (entry, result) in zip(group, results) { entry.answer.resume(returning: result) }
        } catch where group.count > 1 {
            // Whatever failed is one send's doing: each again on its own.
            for entry in group { await write([entry], services: services, on: db) }
        } catch let error as any DatabaseError where error.isConstraintFailure && group[0].draft.idempotencyKey != nil {
            // The same form key stored by another server at the same moment: once more finds it.
            let result: Result<UUID, any Error>
            do { result = try await Self.store([group[0].draft], services: services, on: db)[0] } catch { result = .failure(error) }
            group[0].answer.resume(returning: result)
        } catch {
            group[0].answer.resume(returning: .failure(error))
        }
    }

    private struct Pair: Hashable { let caseID: UUID; let memberID: UUID }
    private struct KeyInConversation: Hashable { let conversationID: UUID; let key: String }

    /// One group in one transaction; an answer per draft, in order.
    static func store(_ drafts: [Draft], services: CaseTalkServices, on db: any Database) async throws -> [Result<UUID, any Error>] {
        let latest = drafts.map(\.at).max() ?? Date()
        return try await db.transaction { tx in
            let sql = tx.sql
            // A write first: on SQLite the transaction then takes the write lock at once and waits
            // for it, where a read first would have to upgrade its lock later and could fail as busy.
            try await sql.update(PatientCase.schema).set("last_activity_at", to: SQLBind(latest))
                .where("id", .in, SQLBind.group(Array(Set(drafts.map(\.caseID))))).run()

            var conversations = try await conversationIDs(Set(drafts.map { Pair(caseID: $0.caseID, memberID: $0.memberID) }), on: sql)
            let missing = Set(drafts.filter { $0.author == .member }.map { Pair(caseID: $0.caseID, memberID: $0.memberID) })
                .subtracting(conversations.keys)
            if !missing.isEmpty {
                // A member's first message makes the conversation (another server may make it at the same moment).
                let insert = sql.insert(into: Conversation.schema)
                    .columns("id", "case_id", "member_id", "created_at", "last_message_at", "message_count", "member_unread", "patient_unread")
                for pair in missing {
                    insert.values(SQLBind(UUID()), SQLBind(pair.caseID), SQLBind(pair.memberID), SQLBind(latest), SQLBind(latest),
                                  SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"))
                }
                try await insert.ignoringConflicts(with: ["case_id", "member_id"]).run()
                conversations.merge(try await conversationIDs(missing, on: sql)) { old, _ in old }
            }

            var stored = try await storedKeys(drafts, conversations: conversations, on: sql)
            var results: [Result<UUID, any Error>] = []
            var fresh: [(draft: Draft, conversationID: UUID)] = []
            for draft in drafts {
                guard let conversationID = conversations[Pair(caseID: draft.caseID, memberID: draft.memberID)] else {
                    results.append(.failure(PublicError.notFound))
                    continue
                }
                if let key = draft.idempotencyKey {
                    let slot = KeyInConversation(conversationID: conversationID, key: key)
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

            let insert = sql.insert(into: Message.schema)
                .columns("id", "conversation_id", "author_kind", "key_id", "body_sealed", "created_at", "idempotency_key")
            for (draft, conversationID) in fresh {
                insert.values(SQLBind(draft.messageID), SQLBind(conversationID), SQLBind(draft.author.rawValue), SQLBind(Sealer.keyID),
                              SQLBind(draft.bodySealed), SQLBind(draft.at), SQLBind(draft.idempotencyKey))
            }
            try await insert.run()
            try await count(fresh, latest: latest, on: sql)
            try await Audit.record(fresh.map { draft, conversationID in
                AuditDraft(action: .messageSent, actor: draft.actor, subject: "conversation:\(conversationID) message:\(draft.messageID)",
                           clientAddress: draft.clientAddress, at: draft.at)
            }, on: tx)
            for recipient in [MessageAuthor.patient, .member] {
                let ids = Set(fresh.filter { $0.draft.author != recipient }.map(\.conversationID))
                try await Notifications.claimAndQueue(to: recipient, conversations: ids, services: services, now: latest, on: tx)
            }
            return results
        }
    }

    /// The conversations of these (case, member) pairs that exist.
    private static func conversationIDs(_ pairs: Set<Pair>, on sql: any SQLDatabase) async throws -> [Pair: UUID] {
        guard !pairs.isEmpty else { return [:] }
        struct Row: Decodable { let id: UUID; let case_id: UUID; let member_id: UUID }
        let rows = try await sql.select().columns("id", "case_id", "member_id").from(Conversation.schema)
            .where { group in
                for pair in pairs {
                    group.orWhere { $0.where("case_id", .equal, SQLBind(pair.caseID)).where("member_id", .equal, SQLBind(pair.memberID)) }
                }
                return group
            }
            .all(decoding: Row.self)
        return Dictionary(rows.map { (Pair(caseID: $0.case_id, memberID: $0.member_id), $0.id) }, uniquingKeysWith: { a, _ in a })
    }

    /// The messages already stored under these drafts' form keys, by conversation and key.
    private static func storedKeys(_ drafts: [Draft], conversations: [Pair: UUID],
                                   on sql: any SQLDatabase) async throws -> [KeyInConversation: UUID] {
        let keys = Set(drafts.compactMap(\.idempotencyKey))
        guard !keys.isEmpty else { return [:] }
        struct Row: Decodable { let id: UUID; let conversation_id: UUID; let idempotency_key: String }
        let rows = try await sql.select().columns("id", "conversation_id", "idempotency_key").from(Message.schema)
            .where("idempotency_key", .in, SQLBind.group(Array(keys)))
            .where("conversation_id", .in, SQLBind.group(Array(Set(conversations.values))))
            .all(decoding: Row.self)
        return Dictionary(rows.map { (KeyInConversation(conversationID: $0.conversation_id, key: $0.idempotency_key), $0.id) },
                          uniquingKeysWith: { a, _ in a })
    }

    /// Each conversation's counters and activity time, in one statement for the group.
    private static func count(_ fresh: [(draft: Draft, conversationID: UUID)], latest: Date, on sql: any SQLDatabase) async throws {
        var total: [UUID: Int] = [:], byMember: [UUID: Int] = [:], byPatient: [UUID: Int] = [:]
        for (draft, id) in fresh {
            total[id, default: 0] += 1
            if draft.author == .member { byMember[id, default: 0] += 1 } else { byPatient[id, default: 0] += 1 }
        }
        let update = sql.update(Conversation.schema)
            .set("last_message_at", to: SQLBind(latest))
            .set(SQLIdentifier("message_count"), to: SQLBinaryExpression(SQLIdentifier("message_count"), .add, CountsByID(total)))
        // The member's messages wait for the patient, and the patient's for the member.
        if !byMember.isEmpty {
            update.set(SQLIdentifier("patient_unread"), to: SQLBinaryExpression(SQLIdentifier("patient_unread"), .add, CountsByID(byMember)))
        }
        if !byPatient.isEmpty {
            update.set(SQLIdentifier("member_unread"), to: SQLBinaryExpression(SQLIdentifier("member_unread"), .add, CountsByID(byPatient)))
        }
        try await update.where("id", .in, SQLBind.group(Array(total.keys))).run()
    }
}

/// `CASE "id" WHEN $1 THEN $2 … ELSE 0 END`: a number per row id, for one UPDATE over many rows.
private struct CountsByID: SQLExpression {
    let counts: [UUID: Int]
    init(_ counts: [UUID: Int]) { self.counts = counts }

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("CASE ")
        SQLIdentifier("id").serialize(to: &serializer)
        for (id, count) in counts {
            serializer.write(" WHEN ")
            SQLBind(id).serialize(to: &serializer)
            serializer.write(" THEN ")
            SQLLiteral.numeric("\(count)").serialize(to: &serializer)
        }
        serializer.write(" ELSE 0 END")
    }
}
