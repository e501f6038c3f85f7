import CaseTalkCore
import Fluent
import Foundation

/// SPEC §4: the other side of a conversation hears by email that a message is waiting (a link,
/// never the text), at most once per conversation per 15 minutes, and not at all for a message
/// read before the email went out.
enum Notifications {
    static let interval: TimeInterval = 15 * 60

    /// The outbox kind of a new-message notification to `recipient`.
    static func kind(to recipient: MessageAuthor) -> OutboxKind {
        recipient == .patient ? .messageToPatient : .replyToMember
    }

    /// Of these conversations, each with a new message for `recipient`, claims the ones not
    /// notified in the last 15 minutes and queues their emails, in the sender's transaction. The
    /// claim is one conditional update, so parallel sends notify once.
    static func claimAndQueue(to recipient: MessageAuthor, conversations ids: Set<UUID>, services: CaseTalkServices,
                              now: Date, on tx: any Database) async throws {
        guard !ids.isEmpty else { return }
        let claimed = try await ConversationsTable.claimNotice(ids, to: recipient, now: now,
                                                               notTellingSince: now.addingTimeInterval(-interval), on: tx)
        guard !claimed.isEmpty else { return }
        let addresses = try await ConversationsTable.noticeAddresses(claimed, on: tx)
        let base = services.config.publicBaseURL, from = services.config.mailFrom
        let emails = addresses.compactMap { address -> Outbox.Queued? in
            let email: EmailMessage
            switch recipient {
            case .patient:
                guard let to = address.patientEmail else { return nil }
                email = StaffEmails.newMessage(to: to, from: from, practiceName: address.practiceName, link: Paths.conversation(address.id).url(base: base))
            case .member:
                email = StaffEmails.patientReplied(to: address.memberEmail, from: from, link: Paths.patientTalk(address.caseId).url(base: base))
            }
            return Outbox.Queued(message: email, kind: kind(to: recipient), relatedID: address.id)
        }
        try await Outbox.enqueue(emails, sealer: services.sealer, at: now, on: tx)
    }

    /// Of the claimed outbox rows, the notifications whose recipient has read the conversation
    /// since (its unread count is back to 0). Their debounce mark is cleared, so the next message
    /// notifies again.
    static func readBeforeDelivery(_ rows: [(id: UUID, kind: String, conversationID: UUID?)], on db: any Database) async throws -> Set<UUID> {
        var read: Set<UUID> = []
        for recipient in [MessageAuthor.patient, .member] {
            let kind = kind(to: recipient).rawValue
            let ids = rows.filter { $0.kind == kind }.compactMap(\.conversationID)
            guard !ids.isEmpty else { continue }
            let done = try await ConversationsTable.clearNoticeIfRead(ids, by: recipient, on: db)
            read.formUnion(rows.filter { $0.kind == kind && $0.conversationID.map(done.contains) == true }.map(\.id))
        }
        return read
    }
}
