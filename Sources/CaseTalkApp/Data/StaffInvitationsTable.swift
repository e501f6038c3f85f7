import CaseTalkCore
import Fluent
import Foundation

/// The `staff_invitations` table's statements (SPEC §9: **Invite Staff**). A link is live while
/// the invitation is neither accepted nor cancelled and before its end; each change is one
/// conditional statement naming the practice, so a link is used once and only the practice's
/// admins touch its invitations.
enum StaffInvitationsTable {
    struct New: Sendable {
        let id: UUID, practiceID: UUID, email: String, name: String, role: StaffRole, isAdmin: Bool
        let tokenHash: String, expiresAt: Date, invitedBy: UUID, now: Date
    }

    /// An invitation not accepted or cancelled yet, as the Practice page lists it.
    struct Pending: Decodable, Sendable {
        let id: UUID
        let email: String
        let name: String
        let role: String
        let isAdmin: Bool
        let expiresAt: Date
    }

    /// An invitation as its link's page needs it, with its practice's name.
    struct Live: Decodable, Sendable {
        let id: UUID
        let practiceId: UUID
        let practiceName: String
        let email: String
        let name: String
        let role: String
        let isAdmin: Bool
    }

    static func insert(_ new: New, on db: any Database) async throws {
        try await db.run(Insert(new: new))
    }

    static func pending(ofPractice practiceID: UUID, on db: any Database) async throws -> [Pending] {
        try await db.all(PendingOf(practiceID: practiceID), as: Pending.self)
    }

    /// Whether the practice has a pending invitation for `email`.
    static func isPending(_ email: String, practiceID: UUID, on db: any Database) async throws -> Bool {
        try await !db.rows(IsPending(practiceID: practiceID, email: email)).isEmpty
    }

    static func live(tokenHash: String, now: Date, on db: any Database) async throws -> Live? {
        try await db.first(LiveByToken(tokenHash: tokenHash, now: now), as: Live.self)
    }

    /// Uses the link of invitation `id` for account `staffID`: only while it is live. Whether it did.
    static func accept(_ id: UUID, staffID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(Accept(now: now, staffID: staffID, id: id)).isEmpty
    }

    /// **Resend**: a new link (the old one stops working) and a new end, to `email` (the address
    /// as corrected, or as it was). The invitation's name, when it did.
    static func resend(_ id: UUID, practiceID: UUID, email: String, tokenHash: String, expiresAt: Date, now: Date,
                       on db: any Database) async throws -> String? {
        struct Row: Decodable { let name: String }
        return try await db.first(Resend(email: email, tokenHash: tokenHash, expiresAt: expiresAt, now: now, id: id, practiceID: practiceID),
                                  as: Row.self)?.name
    }

    /// **Cancel invitation**: its link stops working. Whether it did.
    static func cancel(_ id: UUID, practiceID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(Cancel(now: now, id: id, practiceID: practiceID)).isEmpty
    }

    private static let open = "accepted_at IS NULL AND cancelled_at IS NULL"

    private struct Insert: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            INSERT INTO staff_invitations (id, practice_id, email, name, role, is_admin, token_hash, expires_at, invited_by_id, created_at, sent_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
            """
        }
        let new: New
        var binds: [any SQLValue] {
            [new.id, new.practiceID, new.email, new.name, new.role.rawValue, new.isAdmin, new.tokenHash, new.expiresAt, new.invitedBy, new.now]
        }
    }

    private struct PendingOf: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            "SELECT id, email, name, role, is_admin, expires_at FROM staff_invitations WHERE practice_id = $1 AND \(open) ORDER BY name, id"
        }
        let practiceID: UUID
        var binds: [any SQLValue] { [practiceID] }
    }

    private struct IsPending: Statement {
        static let writes = false
        static func text(size _: Int) -> String { "SELECT id FROM staff_invitations WHERE practice_id = $1 AND email = $2 AND \(open)" }
        let practiceID: UUID, email: String
        var binds: [any SQLValue] { [practiceID, email] }
    }

    private struct LiveByToken: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT staff_invitations.id, staff_invitations.practice_id, practices.name AS practice_name, staff_invitations.email,
                   staff_invitations.name, staff_invitations.role, staff_invitations.is_admin
            FROM staff_invitations JOIN practices ON practices.id = staff_invitations.practice_id
            WHERE staff_invitations.token_hash = $1 AND staff_invitations.expires_at > $2
              AND staff_invitations.accepted_at IS NULL AND staff_invitations.cancelled_at IS NULL
            """
        }
        let tokenHash: String, now: Date
        var binds: [any SQLValue] { [tokenHash, now] }
    }

    private struct Accept: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_invitations SET accepted_at = $1, staff_id = $2, token_hash = NULL
            WHERE id = $3 AND \(open) AND expires_at > $1 RETURNING id
            """
        }
        let now: Date, staffID: UUID, id: UUID
        var binds: [any SQLValue] { [now, staffID, id] }
    }

    private struct Resend: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE staff_invitations SET email = $1, token_hash = $2, expires_at = $3, sent_at = $4
            WHERE id = $5 AND practice_id = $6 AND \(open) RETURNING name
            """
        }
        let email: String, tokenHash: String, expiresAt: Date, now: Date, id: UUID, practiceID: UUID
        var binds: [any SQLValue] { [email, tokenHash, expiresAt, now, id, practiceID] }
    }

    private struct Cancel: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            "UPDATE staff_invitations SET cancelled_at = $1, token_hash = NULL WHERE id = $2 AND practice_id = $3 AND \(open) RETURNING id"
        }
        let now: Date, id: UUID, practiceID: UUID
        var binds: [any SQLValue] { [now, id, practiceID] }
    }
}
