import CaseTalkCore
import Fluent
import Foundation

/// The `registrations` statements that must be one conditional statement each (rows:
/// `Registration`; its code columns are `CodeHoldersTable`'s). Each step after the first
/// belongs to the session that took it (SPEC §3), which the conditions check.
enum RegistrationsTable {
    /// A Terms acceptance made before the code was verified no longer counts.
    static func forgetTerms(invitationID: UUID, on db: any Database) async throws {
        try await db.run(ForgetTerms(invitationID: invitationID))
    }

    /// Counts a date of birth answer while fewer than `BirthDateCheck.allowedMisses` were wrong:
    /// a right one binds the step to `sessionID`. The wrong answers so far, or nil when none
    /// were left to give (the answer was not counted).
    static func answerBirthDate(right: Bool, sessionID: String, invitationID: UUID, on db: any Database) async throws -> Int? {
        struct Row: Decodable { let birthDateMisses: Int? }
        return try await db.first(AnswerBirthDate(right: right, sessionID: sessionID, invitationID: invitationID), as: Row.self)
            .map { $0.birthDateMisses ?? 0 }
    }

    /// The numbers of step 1, saved only by the session that first saved them and only before a
    /// code is verified; `retireCode` forgets the code sent to the old numbers. False when refused.
    static func savePhones(mobile: String?, home: String?, work: String?, at now: Date, sessionID: String, retireCode: Bool,
                           invitationID: UUID, on db: any Database) async throws -> Bool {
        try await !db.rows(SavePhones(mobile: mobile, home: home, work: work, now: now, sessionID: sessionID, retireCode: retireCode,
                                      invitationID: invitationID)).isEmpty
    }

    /// Uses up the session's binding to the verified code, once the Terms are accepted: true for
    /// the one request that finishes the registration.
    static func useBinding(sessionID: String, invitationID: UUID, on db: any Database) async throws -> Bool {
        try await !db.rows(UseBinding(invitationID: invitationID, sessionID: sessionID)).isEmpty
    }

    private struct ForgetTerms: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE registrations SET terms_version = NULL, terms_accepted_at = NULL, terms_client_address = NULL,
              terms_user_agent = NULL
            WHERE invitation_id = $1
            """
        }
        let invitationID: UUID
        var binds: [any SQLValue] { [invitationID] }
    }

    private struct AnswerBirthDate: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE registrations SET
              birth_date_session = CASE WHEN $1 THEN $2 ELSE birth_date_session END,
              birth_date_misses = CASE WHEN $1 THEN birth_date_misses ELSE COALESCE(birth_date_misses, 0) + 1 END
            WHERE invitation_id = $3 AND COALESCE(birth_date_misses, 0) < \(BirthDateCheck.allowedMisses)
            RETURNING birth_date_misses
            """
        }
        let right: Bool, sessionID: String, invitationID: UUID
        var binds: [any SQLValue] { [right, sessionID, invitationID] }
    }

    private struct SavePhones: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE registrations SET mobile_number = $1, home_number = $2, work_number = $3, phones_saved_at = $4, phones_session = $5,
              code_hmac = CASE WHEN $6 THEN NULL ELSE code_hmac END,
              code_number = CASE WHEN $6 THEN NULL ELSE code_number END,
              code_channel = CASE WHEN $6 THEN NULL ELSE code_channel END,
              code_expires_at = CASE WHEN $6 THEN NULL ELSE code_expires_at END
            WHERE invitation_id = $7 AND verified_at IS NULL AND (phones_session IS NULL OR phones_session = $5)
            RETURNING invitation_id
            """
        }
        let mobile: String?, home: String?, work: String?, now: Date, sessionID: String, retireCode: Bool, invitationID: UUID
        var binds: [any SQLValue] { [mobile, home, work, now, sessionID, retireCode, invitationID] }
    }

    private struct UseBinding: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE registrations SET verified_session = NULL
            WHERE invitation_id = $1 AND verified_session = $2 AND terms_accepted_at IS NOT NULL
            RETURNING invitation_id
            """
        }
        let invitationID: UUID, sessionID: String
        var binds: [any SQLValue] { [invitationID, sessionID] }
    }
}
