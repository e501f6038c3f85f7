import Fluent
import Foundation

/// The statements of `cases` and the tables that say who is on one (`case_members`,
/// `case_patients`). Every read of a case for a member is scoped to that member in the query
/// itself: a case the caller is not a member of is indistinguishable from a missing one.
enum CasesTable {
    /// One line of View Cases.
    struct Line: Decodable, Sendable {
        let id: UUID
        let patientFirstName: String
        let patientLastName: String
        let title: String
        /// What this member may see move: the case's own changes and their own Patient Talk.
        let activityAt: Date
        /// The patient's replies in this member's own Patient Talk not yet opened (theirs only).
        let unread: Int
    }

    /// The member's cases, newest activity first: `limit` after `offset` (one statement a page).
    /// Only the member's own conversation is joined, so a colleague's Patient Talk moves neither
    /// the order nor the date (SPEC §1).
    static func casesOf(member staffID: UUID, limit: Int, offset: Int, on db: any Database) async throws -> [Line] {
        try await db.all(CasesOf(staffID: staffID, limit: limit, offset: offset), as: Line.self)
    }

    /// The case, only if `staffID` is one of its members.
    static func find(_ caseID: UUID, forMember staffID: UUID, on db: any Database) async throws -> PatientCase? {
        try await PatientCase.query(on: db)
            .join(CaseMember.self, on: \CaseMember.$patientCase.$id == \PatientCase.$id)
            .filter(CaseMember.self, \.$staff.$id == staffID)
            .filter(\.$id == caseID)
            .with(\.$practice)
            .first()
    }

    /// A member of a case, or a staff member who could become one.
    struct Member: Decodable, Sendable {
        let id: UUID
        let name: String
        let role: String
        let practiceName: String
    }

    /// The case's members, by name. Callers pass a case they already found for the member.
    static func members(of caseID: UUID, on db: any Database) async throws -> [Member] {
        try await db.all(Members(caseID: caseID), as: Member.self)
    }

    /// Staff whose name or practice contains `text` (any case), who are not members yet (for
    /// **Add a Doctor/Staff**). `%` and `_` are matched literally on both engines.
    static func searchStaff(_ text: String, notIn caseID: UUID, limit: Int, on db: any Database) async throws -> [Member] {
        let escaped = text.lowercased()
            .replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return try await db.all(SearchStaff(pattern: "%" + escaped + "%", caseID: caseID, limit: limit), as: Member.self)
    }

    /// The email addresses of the case's members other than `staffID` (for content-free notices).
    static func memberAddresses(of caseID: UUID, except staffID: UUID, on db: any Database) async throws -> [String] {
        struct Row: Decodable { let email: String }
        return try await db.all(MemberAddresses(caseID: caseID, staffID: staffID), as: Row.self).map(\.email)
    }

    /// The account that answered the case's invitation, as members are shown it (SPEC §3).
    struct RegisteredPatient: Decodable, Sendable {
        let email: String
        let verifiedNumber: String
        let joinedAt: Date
    }

    /// The patient account joined to the case, if any. Callers pass a case they already found for the member.
    static func registeredPatient(of caseID: UUID, on db: any Database) async throws -> RegisteredPatient? {
        try await db.first(Registered(caseID: caseID), as: RegisteredPatient.self)
    }

    /// A case on the patient's own page.
    struct OfPatient: Decodable, Sendable {
        let practiceName: String
        let practiceTimeZone: String
        let title: String
        let joinedAt: Date
    }

    /// The patient's cases, newest joined first (at most `limit`).
    static func casesOf(patient patientID: UUID, limit: Int, on db: any Database) async throws -> [OfPatient] {
        try await db.all(CasesOfPatient(patientID: patientID, limit: limit), as: OfPatient.self)
    }

    /// Ends the patient's access to the case; the patient it had, if any.
    static func removePatient(of caseID: UUID, on db: any Database) async throws -> UUID? {
        struct Row: Decodable { let patientId: UUID }
        return try await db.first(RemovePatient(caseID: caseID), as: Row.self)?.patientId
    }

    /// Something happened on the case that all its members may see.
    static func touch(_ caseID: UUID, at now: Date, on db: any Database) async throws {
        try await db.run(Touch(now: now, caseID: caseID))
    }

    /// Writes the case's Patient email (and touches the case) only when `owns` (the writer's
    /// practice owns the case), when none is on file, or when it is the same address: one
    /// conditional statement, so that a race cannot redirect the link. False when refused.
    static func keepPatientEmail(_ address: String, of caseID: UUID, owns: Bool, at now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(KeepPatientEmail(address: address, now: now, caseID: caseID, owns: owns)).isEmpty
    }

    /// Adds staff member `staffID` to the case unless they are on it: whether they were added.
    static func addMemberIfAbsent(_ staffID: UUID, to caseID: UUID, by adder: UUID, at now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(AddMemberIfAbsent(id: UUID(), caseID: caseID, staffID: staffID, adder: adder, now: now)).isEmpty
    }

    /// Takes the case's row lock for the rest of the transaction (a no-op write), so that two
    /// members leaving at once cannot both pass `removeMember`'s condition on PostgreSQL. False
    /// when there is no such case.
    static func lock(_ caseID: UUID, on db: any Database) async throws -> Bool {
        try await !db.rows(LockCase(id: caseID)).isEmpty
    }

    /// Takes staff member `staffID` off the case, unless the case's own practice would have no
    /// active member left on it (SPEC §9): one conditional statement. Whether it did.
    static func removeMember(_ staffID: UUID, from caseID: UUID, on db: any Database) async throws -> Bool {
        try await !db.rows(RemoveMember(caseID: caseID, staffID: staffID)).isEmpty
    }

    private struct LockCase: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE cases SET last_activity_at = last_activity_at WHERE id = $1 RETURNING id" }
        let id: UUID
        var binds: [any SQLValue] { [id] }
    }

    private struct RemoveMember: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            DELETE FROM case_members WHERE case_id = $1 AND staff_id = $2
              AND (staff_id NOT IN (SELECT staff_users.id FROM staff_users JOIN cases ON cases.practice_id = staff_users.practice_id
                                    WHERE cases.id = $1)
                   OR EXISTS (SELECT 1 FROM case_members AS other JOIN staff_users ON staff_users.id = other.staff_id
                              JOIN cases ON cases.id = other.case_id
                              WHERE other.case_id = $1 AND other.staff_id <> $2 AND staff_users.practice_id = cases.practice_id
                                AND staff_users.deactivated_at IS NULL))
            RETURNING id
            """
        }
        let caseID: UUID, staffID: UUID
        var binds: [any SQLValue] { [caseID, staffID] }
    }

    private struct AddMemberIfAbsent: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            INSERT INTO case_members (id, case_id, staff_id, added_by_id, added_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (case_id, staff_id) DO NOTHING RETURNING id
            """
        }
        let id: UUID, caseID: UUID, staffID: UUID, adder: UUID, now: Date
        var binds: [any SQLValue] { [id, caseID, staffID, adder, now] }
    }

    private struct CasesOf: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT cases.id, cases.patient_first_name, cases.patient_last_name, cases.title,
                   CASE WHEN conversations.last_message_at > cases.last_activity_at THEN conversations.last_message_at
                        ELSE cases.last_activity_at END AS activity_at,
                   COALESCE(conversations.member_unread, 0) AS unread
            FROM cases
            JOIN case_members ON case_members.case_id = cases.id
            LEFT JOIN conversations ON conversations.case_id = cases.id AND conversations.member_id = $1
            WHERE case_members.staff_id = $1
            ORDER BY activity_at DESC, cases.id ASC
            LIMIT $2 OFFSET $3
            """
        }
        let staffID: UUID, limit: Int, offset: Int
        var binds: [any SQLValue] { [staffID, limit, offset] }
    }

    private static let memberColumns = """
        staff_users.id, \(AccountsTable.shownName()) AS name, staff_users.role, practices.name AS practice_name
        """

    private struct Members: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT \(memberColumns)
            FROM case_members
            JOIN staff_users ON staff_users.id = case_members.staff_id
            JOIN practices ON practices.id = staff_users.practice_id
            WHERE case_members.case_id = $1
            ORDER BY staff_users.name
            """
        }
        let caseID: UUID
        var binds: [any SQLValue] { [caseID] }
    }

    private struct SearchStaff: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT \(memberColumns)
            FROM staff_users
            JOIN practices ON practices.id = staff_users.practice_id
            WHERE (LOWER(staff_users.name) LIKE $1 ESCAPE '\\' OR LOWER(practices.name) LIKE $1 ESCAPE '\\')
              AND staff_users.id NOT IN (SELECT staff_id FROM case_members WHERE case_id = $2)
              AND staff_users.deactivated_at IS NULL
            ORDER BY staff_users.name
            LIMIT $3
            """
        }
        let pattern: String, caseID: UUID, limit: Int
        var binds: [any SQLValue] { [pattern, caseID, limit] }
    }

    private struct MemberAddresses: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT staff_users.email FROM case_members JOIN staff_users ON staff_users.id = case_members.staff_id
            WHERE case_members.case_id = $1 AND case_members.staff_id <> $2
            ORDER BY staff_users.email
            """
        }
        let caseID: UUID, staffID: UUID
        var binds: [any SQLValue] { [caseID, staffID] }
    }

    private struct Registered: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT patients.email, patients.verified_number, case_patients.joined_at
            FROM case_patients JOIN patients ON patients.id = case_patients.patient_id
            WHERE case_patients.case_id = $1
            """
        }
        let caseID: UUID
        var binds: [any SQLValue] { [caseID] }
    }

    private struct CasesOfPatient: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT practices.name AS practice_name, practices.time_zone AS practice_time_zone, cases.title, case_patients.joined_at
            FROM case_patients
            JOIN cases ON cases.id = case_patients.case_id
            JOIN practices ON practices.id = cases.practice_id
            WHERE case_patients.patient_id = $1
            ORDER BY case_patients.joined_at DESC
            LIMIT $2
            """
        }
        let patientID: UUID, limit: Int
        var binds: [any SQLValue] { [patientID, limit] }
    }

    private struct RemovePatient: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "DELETE FROM case_patients WHERE case_id = $1 RETURNING patient_id" }
        let caseID: UUID
        var binds: [any SQLValue] { [caseID] }
    }

    private struct Touch: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE cases SET last_activity_at = $1 WHERE id = $2" }
        let now: Date, caseID: UUID
        var binds: [any SQLValue] { [now, caseID] }
    }

    private struct KeepPatientEmail: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE cases SET patient_email = $1, last_activity_at = $2
            WHERE id = $3 AND ($4 OR patient_email IS NULL OR patient_email = $1)
            RETURNING id
            """
        }
        let address: String, now: Date, caseID: UUID, owns: Bool
        var binds: [any SQLValue] { [address, now, caseID, owns] }
    }
}
