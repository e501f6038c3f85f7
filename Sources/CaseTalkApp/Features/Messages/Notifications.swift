import CaseTalkCore
import Fluent
import Foundation
import SQLKit

/// SPEC §4: the other side of a conversation hears by email that a message is waiting (a link,
/// never the text), at most once per conversation per 15 minutes, and not at all for a message
/// read before the email went out.
enum Notifications {
    static let interval: TimeInterval = 15 * 60

    /// The outbox kind of a new-message notification to `recipient`.
    static func kind(to recipient: MessageAuthor) -> String {
        recipient == .patient ? "message-to-patient" : "reply-to-member"
    }

    /// Of these conversations, each with a new message for `recipient`, claims the ones not
    /// notified in the last 15 minutes and queues their emails, in the sender's transaction. The
    /// claim is one conditional update, so parallel sends notify once.
    static func claimAndQueue(to recipient: MessageAuthor, conversations ids: Set<UUID>, services: CaseTalkServices,
                              now: Date, on tx: any Database) async throws {
        guard !ids.isEmpty else { return }
        let notified: SQLQueryString = recipient == .patient ? "patient_notified_at" : "member_notified_at"
        // Nobody to tell the patient until they have an account; their first sign-in shows the message.
        let reachable: SQLQueryString = recipient == .patient ? "AND case_id IN (SELECT case_id FROM case_patients)" : ""
        struct Claimed: Decodable { let id: UUID }
        let claimed = try await tx.sql.raw("""
            UPDATE conversations SET \(notified) = \(bind: now)
            WHERE id IN (\(binds: Array(ids))) \(reachable)
              AND (\(notified) IS NULL OR \(notified) <= \(bind: now.addingTimeInterval(-interval)))
            RETURNING id
            """).all(decoding: Claimed.self).map(\.id)
        guard !claimed.isEmpty else { return }

        // The member's practice names the sender; the address is the patient's or the member's.
        struct Address: Decodable {
            let id: UUID; let case_id: UUID; let practice_name: String; let member_email: String; let patient_email: String?
        }
        let addresses = try await tx.sql.raw("""
            SELECT conversations.id, conversations.case_id, practices.name AS practice_name,
                   staff_users.email AS member_email, patients.email AS patient_email
            FROM conversations
            JOIN staff_users ON staff_users.id = conversations.member_id
            JOIN practices ON practices.id = staff_users.practice_id
            LEFT JOIN case_patients ON case_patients.case_id = conversations.case_id
            LEFT JOIN patients ON patients.id = case_patients.patient_id
            WHERE conversations.id IN (\(binds: claimed))
            """).all(decoding: Address.self)
        let base = services.config.publicBaseURL, from = services.config.mailFrom
        for address in addresses {
            let email: EmailMessage
            switch recipient {
            case .patient:
                guard let to = address.patient_email else { continue }
                email = StaffEmails.newMessage(to: to, from: from, practiceName: address.practice_name, link: Paths.conversation(address.id).url(base: base))
            case .member:
                email = StaffEmails.patientReplied(to: address.member_email, from: from, link: Paths.patientTalk(address.case_id).url(base: base))
            }
            try await Outbox.enqueue(email, kind: kind(to: recipient), relatedID: address.id, sealer: services.sealer, at: now, on: tx)
        }
    }

    /// Of the claimed outbox rows, the notifications whose recipient has read the conversation
    /// since (its unread count is back to 0). Their debounce mark is cleared, so the next message
    /// notifies again.
    static func readBeforeDelivery(_ rows: [(id: UUID, kind: String, conversationID: UUID?)], on db: any Database) async throws -> Set<UUID> {
        var read: Set<UUID> = []
        for recipient in [MessageAuthor.patient, .member] {
            let kind = kind(to: recipient)
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
}
