import Fluent
import Foundation

/// A durable outgoing email (SPEC §6). Written in the same transaction as the change that causes
/// it; delivered by the `BackgroundWorker`. The message itself is sealed with the data key (it can hold
/// an invitation link), and wiped once delivered or refused.
final class OutboxEmail: Model, @unchecked Sendable {
    static let schema = "outbox"

    /// `skipped`: a new-message notification whose message was read before it went out (SPEC §4).
    enum Status: String, Codable, Sendable { case pending, sent, failed, skipped }

    @ID(key: .id) var id: UUID?
    /// What the email is about (an `OutboxKind`), for the status shown to staff.
    @Field(key: "kind") var kind: String
    /// The invitation (or other row) the email belongs to.
    @OptionalField(key: "related_id") var relatedID: UUID?
    @Field(key: "sealed_message") var sealedMessage: String
    @Enum(key: "status") var status: Status
    @Field(key: "attempts") var attempts: Int
    @Field(key: "next_attempt_at") var nextAttemptAt: Date
    /// While set and in the future, one worker owns this row (a lease, so a crashed worker's rows
    /// are picked up again and a live worker's are not sent twice).
    @OptionalField(key: "claimed_until") var claimedUntil: Date?
    /// Why the last try failed, in words safe for staff to read (no addresses, no content).
    @OptionalField(key: "last_error") var lastError: String?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "sent_at") var sentAt: Date?

    init() {}
}
