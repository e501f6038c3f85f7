import Fluent
import Foundation

/// The `invitations` statements that must be one conditional statement each (single rows are
/// found and saved with Fluent, `Invitation`).
enum InvitationsTable {
    /// Moves the invitation to *registered* if it is in one of `from`; false if another request got there first.
    static func markRegistered(_ invitationID: UUID, from: [Invitation.Status], at now: Date, on db: any Database) async throws -> Bool {
        let from = Bucket.padded(from.map(\.rawValue))
        return try await !db.rows(MarkRegistered(now: now, invitationID: invitationID, from: from)).isEmpty
    }

    /// Revokes the case's invitation (its links already died with the patient's access).
    static func revoke(ofCase caseID: UUID, at now: Date, on db: any Database) async throws {
        try await db.run(Revoke(now: now, caseID: caseID))
    }

    /// Counts a reminder only when `sentBefore` were sent: true for the one worker that wins.
    static func countReminder(_ invitationID: UUID, sentBefore: Int, on db: any Database) async throws -> Bool {
        try await !db.rows(CountReminder(invitationID: invitationID, sentBefore: sentBefore)).isEmpty
    }

    private struct MarkRegistered: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            UPDATE invitations SET status = '\(Invitation.Status.registered.rawValue)', registered_at = $1
            WHERE id = $2 AND status IN (\(Bucket.list(from: 3, count: size)))
            RETURNING id
            """
        }
        let now: Date, invitationID: UUID, from: [String]
        var size: Int { from.count }
        var binds: [any SQLValue] { [now, invitationID] + from }
    }

    private struct Revoke: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE invitations SET status = '\(Invitation.Status.revoked.rawValue)', revoked_at = $1 WHERE case_id = $2"
        }
        let now: Date, caseID: UUID
        var binds: [any SQLValue] { [now, caseID] }
    }

    private struct CountReminder: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE invitations SET reminders_sent = $1 WHERE id = $2 AND reminders_sent = $3 RETURNING id"
        }
        let invitationID: UUID, sentBefore: Int
        var binds: [any SQLValue] { [sentBefore + 1, invitationID, sentBefore] }
    }
}
