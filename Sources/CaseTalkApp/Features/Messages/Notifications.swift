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
        let column = recipient == .patient ? "patient_notified_at" : "member_notified_at"
        let claim = tx.sql.update(Conversation.schema)
            .set(column, to: SQLBind(now))
            .where("id", .in, SQLBind.group(Array(ids)))
            .where { $0.where(column, .is, SQLLiteral.null).orWhere(column, .lessThanOrEqual, SQLBind(now.addingTimeInterval(-interval))) }
        if recipient == .patient {
            // Nobody to tell until the patient has an account; their first sign-in shows the message.
            claim.where("case_id", .in, SQLSubquery.select { $0.column("case_id").from(CasePatient.schema) })
        }
        struct Claimed: Decodable { let id: UUID }
        let claimed = try await claim.returning("id").all(decoding: Claimed.self).map(\.id)
        guard !claimed.isEmpty else { return }

        struct Address: Decodable { let id: UUID; let case_id: UUID; let email: String; let practice_name: String }
        let conversation = { (name: String) in SQLColumn(name, table: Conversation.schema) }
        let addresses = tx.sql.select()
            .column(conversation("id")).column(conversation("case_id"))
            .column(SQLColumn("name", table: Practice.schema), as: "practice_name")
            .from(Conversation.schema)
            .join(StaffUser.schema, on: SQLColumn("id", table: StaffUser.schema), .equal, conversation("member_id"))
            .join(Practice.schema, on: SQLColumn("id", table: Practice.schema), .equal, SQLColumn("practice_id", table: StaffUser.schema))
            .where(conversation("id"), .in, SQLBind.group(claimed))
        if recipient == .patient {
            addresses.column(SQLColumn("email", table: Patient.schema))
                .join(CasePatient.schema, on: SQLColumn("case_id", table: CasePatient.schema), .equal, conversation("case_id"))
                .join(Patient.schema, on: SQLColumn("id", table: Patient.schema), .equal, SQLColumn("patient_id", table: CasePatient.schema))
        } else {
            addresses.column(SQLColumn("email", table: StaffUser.schema))
        }
        let base = services.config.publicBaseURL.absoluteString
        for address in try await addresses.all(decoding: Address.self) {
            let email = recipient == .patient
                ? StaffEmails.newMessage(to: address.email, from: services.config.mailFrom, practiceName: address.practice_name,
                                         link: "\(base)/inbox/\(address.id)")
                : StaffEmails.patientReplied(to: address.email, from: services.config.mailFrom, link: "\(base)/cases/\(address.case_id)/talk")
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
