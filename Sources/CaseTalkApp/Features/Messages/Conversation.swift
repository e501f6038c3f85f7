import CaseTalkCore
import Fluent
import Foundation

/// Who wrote a message: the case member whose Patient Talk it is, or the patient.
package enum MessageAuthor: String, Codable, Sendable { case member, patient }

/// A Patient Talk (SPEC §1): the one conversation between a case member and the case's patient.
/// It exists from the member's first message; a patient can only answer.
package final class Conversation: Model, @unchecked Sendable {
    package static let schema = "conversations"

    @ID(key: .id) package var id: UUID?
    @Field(key: "case_id") var caseID: UUID
    @Field(key: "member_id") var memberID: UUID
    @Field(key: "created_at") package var createdAt: Date
    @Field(key: "last_message_at") package var lastMessageAt: Date
    @Field(key: "message_count") package var messageCount: Int
    /// The patient's messages the member has not opened yet.
    @Field(key: "member_unread") package var memberUnread: Int
    /// The member's messages the patient has not opened yet.
    @Field(key: "patient_unread") package var patientUnread: Int
    @OptionalField(key: "member_notified_at") var memberNotifiedAt: Date?
    @OptionalField(key: "patient_notified_at") var patientNotifiedAt: Date?
    /// The case's patient once the case has one (a copy of `case_patients`, for the Secure Inbox's order).
    @OptionalField(key: "patient_id") var patientID: UUID?
    /// Closed when its member left and nobody took it over (SPEC §9): readable, no replies.
    @OptionalField(key: "closed_at") var closedAt: Date?

    package init() {}
    package init(id: UUID, caseID: UUID, memberID: UUID, patientID: UUID? = nil, now: Date) {
        self.id = id; self.caseID = caseID; self.memberID = memberID; self.patientID = patientID
        self.createdAt = now; self.lastMessageAt = now
        self.messageCount = 0; self.memberUnread = 0; self.patientUnread = 0
    }
}

/// One entry of a Patient Talk. The body is stored sealed (AES-GCM under the data key, the
/// message id as associated data), never as text.
package final class Message: Model, @unchecked Sendable {
    package static let schema = "messages"

    @ID(key: .id) package var id: UUID?
    @Field(key: "conversation_id") var conversationID: UUID
    @Enum(key: "author_kind") var author: MessageAuthor
    @Field(key: "key_id") var keyID: String
    @Field(key: "body_sealed") var bodySealed: String
    @Field(key: "created_at") var createdAt: Date
    /// When the other side first opened it.
    @OptionalField(key: "read_at") var readAt: Date?
    /// The send form's key: one message per key in a conversation.
    @OptionalField(key: "idempotency_key") var idempotencyKey: String?

    package init() {}
    /// A message with its body sealed as a send seals it (bound to the message, its
    /// conversation and its author), for demo data, bench fixtures and tests; sends store
    /// theirs through `MessagesTable.insert`.
    package init(id: UUID = UUID(), conversationID: UUID, author: MessageAuthor, body: String, sealer: Sealer, createdAt: Date,
         readAt: Date? = nil) throws {
        self.id = id
        self.conversationID = conversationID
        self.author = author
        self.keyID = sealer.currentKeyID
        self.bodySealed = try sealer.seal(Array(body.utf8), context: MessageSeal.context(messageID: id, conversationID: conversationID,
                                                                                         author: author.rawValue))
        self.createdAt = createdAt
        self.readAt = readAt
    }
}
