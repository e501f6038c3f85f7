import CaseTalkCore
import Fluent
import Foundation
import SQLKit
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
        let body: String
        let actor: AuditActor
        let clientAddress: String
        let at: Date
    }

    /// The writer the services keep. Each draft's answer is its message's id, or the id of the
    /// message stored earlier under the same form key in the same conversation. A send by someone
    /// who is not a member of the case, or a patient's send into a conversation no member
    /// started, fails with `PublicError.notFound`: the membership is checked in the write's own query.
    static func groups() -> WriteGroups<Draft, UUID> { WriteGroups(store: store) }

    private struct Pair: Hashable { let caseID: UUID; let memberID: UUID }
    private struct KeyInConversation: Hashable { let conversationID: UUID; let key: String }

    /// One group in one transaction; an answer per draft, in order.
    @Sendable static func store(_ drafts: [Draft], services: CaseTalkServices, on db: any Database) async throws -> [Result<UUID, any Error>] {
        let latest = drafts.map(\.at).max() ?? Date()
        return try await db.transaction { tx in
            let sql = tx.sql
            let pairs = Set(drafts.map { Pair(caseID: $0.caseID, memberID: $0.memberID) })
            // A write first: on SQLite the transaction then takes the write lock at once and waits
            // for it, where a read first would have to upgrade its lock later and could fail as busy.
            // It touches only the senders' own conversations: the case's activity, which every
            // member sees, is not moved by a Patient Talk (SPEC §1: a colleague must not learn of it).
            try await sql.raw("""
                UPDATE conversations SET last_message_at = \(bind: latest)
                WHERE id IN (SELECT conversations.id FROM conversations JOIN case_members
                             ON case_members.case_id = conversations.case_id AND case_members.staff_id = conversations.member_id
                             WHERE \(membership(pairs)))
                """).run()

            // Only a case's members write in it, and a patient answers only a conversation a member started.
            var (members, conversations) = try await lookUp(pairs, on: sql)
            let missing = Set(drafts.filter { $0.author == .member }.map { Pair(caseID: $0.caseID, memberID: $0.memberID) })
                .intersection(members).subtracting(conversations.keys)
            if !missing.isEmpty {
                // A member's first message makes the conversation (another server may make it at the same moment).
                let rows = missing.map { pair -> SQLQueryString in
                    """
                    (\(bind: UUID()), \(bind: pair.caseID), \(bind: pair.memberID), \(bind: latest), \(bind: latest), 0, 0, 0, \
                    (SELECT patient_id FROM case_patients WHERE case_id = \(bind: pair.caseID)))
                    """
                }
                try await sql.raw("""
                    INSERT INTO conversations
                      (id, case_id, member_id, created_at, last_message_at, message_count, member_unread, patient_unread, patient_id)
                    VALUES \(rows.joined(separator: ", ")) ON CONFLICT (case_id, member_id) DO NOTHING
                    """).run()
                conversations.merge(try await lookUp(missing, on: sql).conversations) { old, _ in old }
            }
            members.formIntersection(conversations.keys)

            var stored = try await storedKeys(drafts, conversations: conversations, on: sql)
            var results: [Result<UUID, any Error>] = []
            var fresh: [(draft: Draft, conversationID: UUID)] = []
            for draft in drafts {
                let pair = Pair(caseID: draft.caseID, memberID: draft.memberID)
                guard members.contains(pair), let conversationID = conversations[pair] else {
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

            let sealer = services.sealer
            let rows = try fresh.map { draft, conversationID -> SQLQueryString in
                let sealed = try sealer.seal(Array(draft.body.utf8), context: MessageSeal.context(
                    messageID: draft.messageID, conversationID: conversationID, author: draft.author.rawValue))
                return """
                (\(bind: draft.messageID), \(bind: conversationID), \(bind: draft.author.rawValue), \(bind: sealer.currentKeyID), \
                \(bind: sealed), \(bind: draft.at), \(bind: draft.idempotencyKey))
                """
            }
            try await sql.raw("""
                INSERT INTO messages (id, conversation_id, author_kind, key_id, body_sealed, created_at, idempotency_key)
                VALUES \(rows.joined(separator: ", "))
                """).run()
            try await count(fresh, latest: latest, on: sql)
            try await Audit.record(fresh.map { draft, conversationID in
                AuditDraft(action: .messageSent, actor: draft.actor, subject: "conversation:\(conversationID) message:\(draft.messageID)",
                           clientAddress: draft.clientAddress, at: draft.at)
            }, key: services.auditKey, on: tx)
            for recipient in [MessageAuthor.patient, .member] {
                let ids = Set(fresh.filter { $0.draft.author != recipient }.map(\.conversationID))
                try await Notifications.claimAndQueue(to: recipient, conversations: ids, services: services, now: latest, on: tx)
            }
            return results
        }
    }

    /// Of these (case, member) pairs, the ones where the member is on the case, and of those the
    /// conversations that exist; one statement.
    private static func lookUp(_ pairs: Set<Pair>, on sql: any SQLDatabase) async throws -> (members: Set<Pair>, conversations: [Pair: UUID]) {
        guard !pairs.isEmpty else { return ([], [:]) }
        struct Row: Decodable { let case_id: UUID; let staff_id: UUID; let conversation_id: UUID? }
        let rows = try await sql.raw("""
            SELECT case_members.case_id, case_members.staff_id, conversations.id AS conversation_id
            FROM case_members LEFT JOIN conversations
              ON conversations.case_id = case_members.case_id AND conversations.member_id = case_members.staff_id
            WHERE \(membership(pairs))
            """).all(decoding: Row.self)
        var members: Set<Pair> = [], conversations: [Pair: UUID] = [:]
        for row in rows {
            let pair = Pair(caseID: row.case_id, memberID: row.staff_id)
            members.insert(pair)
            if let id = row.conversation_id { conversations[pair] = id }
        }
        return (members, conversations)
    }

    /// `((case_members.case_id = $1 AND case_members.staff_id = $2) OR …)`: these pairs' memberships.
    private static func membership(_ pairs: Set<Pair>) -> SQLQueryString {
        let each = pairs.map { pair -> SQLQueryString in
            "(case_members.case_id = \(bind: pair.caseID) AND case_members.staff_id = \(bind: pair.memberID))"
        }
        return "(\(each.joined(separator: " OR ")))"
    }

    /// The messages already stored under these drafts' form keys, by conversation and key.
    private static func storedKeys(_ drafts: [Draft], conversations: [Pair: UUID],
                                   on sql: any SQLDatabase) async throws -> [KeyInConversation: UUID] {
        let keys = Set(drafts.compactMap(\.idempotencyKey))
        guard !keys.isEmpty, !conversations.isEmpty else { return [:] }
        struct Row: Decodable { let id: UUID; let conversation_id: UUID; let idempotency_key: String }
        let rows = try await sql.raw("""
            SELECT id, conversation_id, idempotency_key FROM messages
            WHERE idempotency_key IN (\(binds: Array(keys))) AND conversation_id IN (\(binds: Array(Set(conversations.values))))
            """).all(decoding: Row.self)
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
        // The member's messages wait for the patient, and the patient's for the member.
        var assignments: [SQLQueryString] = ["last_message_at = \(bind: latest)", "message_count = message_count + \(perID(total))"]
        if !byMember.isEmpty { assignments.append("patient_unread = patient_unread + \(perID(byMember))") }
        if !byPatient.isEmpty { assignments.append("member_unread = member_unread + \(perID(byPatient))") }
        try await sql.raw("""
            UPDATE conversations SET \(assignments.joined(separator: ", ")) WHERE id IN (\(binds: Array(total.keys)))
            """).run()
    }

    /// `CASE id WHEN $1 THEN 2 … ELSE 0 END`: a number per row id, for one UPDATE over many rows.
    private static func perID(_ counts: [UUID: Int]) -> SQLQueryString {
        let cases = counts.map { id, count -> SQLQueryString in "WHEN \(bind: id) THEN \(literal: count)" }
        return "CASE id \(cases.joined(separator: " ")) ELSE 0 END"
    }
}
