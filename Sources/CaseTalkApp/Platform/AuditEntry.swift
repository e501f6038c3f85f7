import CaseTalkCore
import Fluent
import Foundation

/// One row of the append-only audit trail. The application only ever inserts these.
final class AuditEntry: Model, @unchecked Sendable {
    static let schema = "audit_entries"

    /// The position in the chain, 1, 2, 3…; the primary key, so two writers cannot both take it.
    @ID(custom: "seq", generatedBy: .user) var id: Int64?
    @Field(key: "occurred_at_ms") var occurredAtMillis: Int64
    @Field(key: "actor_kind") var actorKind: String
    @Field(key: "actor_id") var actorID: String
    @Field(key: "action") var action: String
    @Field(key: "subject") var subject: String
    @Field(key: "client_address") var clientAddress: String
    @Field(key: "user_agent") var userAgent: String
    @Field(key: "previous_hash") var previousHash: String
    @Field(key: "hash") var hash: String

    init() {}

    var record: AuditRecord {
        AuditRecord(sequence: id ?? 0, occurredAtMillis: occurredAtMillis, actorKind: actorKind, actorID: actorID,
                    action: action, subject: subject, clientAddress: clientAddress, userAgent: userAgent)
    }
}
