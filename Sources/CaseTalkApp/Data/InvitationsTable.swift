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

    /// Moves a *sent* invitation to *opened*: true for the one request that did (a link opened
    /// twice at once is marked, and audited, once).
    static func markOpened(_ invitationID: UUID, at now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(MarkOpened(now: now, invitationID: invitationID)).isEmpty
    }

    /// Every link of the invitation stops working (`invitation_tokens`, the links' hashes).
    static func deleteLinks(of invitationID: UUID, on db: any Database) async throws {
        try await db.run(DeleteLinks(invitationID: invitationID))
    }

    private struct MarkOpened: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE invitations SET status = '\(Invitation.Status.opened.rawValue)', opened_at = $1 WHERE id = $2 AND status = '\(Invitation.Status.sent.rawValue)' RETURNING id"
        }
        let now: Date, invitationID: UUID
        var binds: [any SQLValue] { [now, invitationID] }
    }

    private struct DeleteLinks: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM invitation_tokens WHERE invitation_id = $1" }
        let invitationID: UUID
        var binds: [any SQLValue] { [invitationID] }
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
