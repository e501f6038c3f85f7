import Fluent
import Foundation
import SQLKit

/// Every read of a case goes through here, and every one is scoped to the signed-in member in the
/// query itself: a case the caller is not a member of is indistinguishable from a missing one.
enum CaseQueries {
    struct ListRow: Decodable, Sendable {
        let id: UUID
        let patient_first_name: String
        let patient_last_name: String
        let title: String
        /// What this member may see move: the case's own changes and their own Patient Talk.
        let activity_at: Date
        /// The patient's replies in this member's own Patient Talk not yet opened (theirs only).
        let unread: Int
    }

    /// The member's cases, newest activity first, one page at a time (one statement per page).
    /// Only the member's own conversation is joined, so a colleague's Patient Talk moves neither
    /// the order nor the date (SPEC §1).
    static func casesOf(member staffID: UUID, page: Int, pageSize: Int, on db: any Database) async throws -> [ListRow] {
        let offset: Int = max(0, page - 1) * pageSize
        return try await db.sql.raw("""
            SELECT cases.id, cases.patient_first_name, cases.patient_last_name, cases.title,
                   CASE WHEN conversations.last_message_at > cases.last_activity_at THEN conversations.last_message_at
                        ELSE cases.last_activity_at END AS activity_at,
                   COALESCE(conversations.member_unread, 0) AS unread
            FROM cases
            JOIN case_members ON case_members.case_id = cases.id
            LEFT JOIN conversations ON conversations.case_id = cases.id AND conversations.member_id = \(bind: staffID)
            WHERE case_members.staff_id = \(bind: staffID)
            ORDER BY activity_at DESC, cases.id ASC
            LIMIT \(literal: pageSize + 1) OFFSET \(literal: offset)
            """).all(decoding: ListRow.self)
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

    struct MemberRow: Decodable, Sendable {
        let id: UUID
        let name: String
        let role: String
        let practice_name: String
    }

    private static let memberColumns: [any SQLExpression] = [
        SQLColumn("id", table: "staff_users"), SQLColumn("name", table: "staff_users"),
        SQLColumn("role", table: "staff_users"), SQLAlias(SQLColumn("name", table: "practices"), as: "practice_name"),
    ]

    /// The case's members, by name. Callers pass a case they already found for the member.
    static func members(of caseID: UUID, on db: any Database) async throws -> [MemberRow] {
        try await db.sql.select()
            .columns(memberColumns)
            .from("case_members")
            .join("staff_users", on: SQLColumn("id", table: "staff_users"), .equal, SQLColumn("staff_id", table: "case_members"))
            .join("practices", on: SQLColumn("id", table: "practices"), .equal, SQLColumn("practice_id", table: "staff_users"))
            .where(SQLColumn("case_id", table: "case_members"), .equal, SQLBind(caseID))
            .orderBy(SQLColumn("name", table: "staff_users"))
            .all(decoding: MemberRow.self)
    }

    /// The email addresses of the case's members other than `staffID` (for content-free notices).
    static func memberAddresses(of caseID: UUID, except staffID: UUID, on db: any Database) async throws -> [String] {
        struct Row: Decodable { let email: String }
        return try await db.sql.raw("""
            SELECT staff_users.email FROM case_members JOIN staff_users ON staff_users.id = case_members.staff_id
            WHERE case_members.case_id = \(bind: caseID) AND case_members.staff_id <> \(bind: staffID)
            ORDER BY staff_users.email
            """).all(decoding: Row.self).map(\.email)
    }

    /// The account that answered the case's invitation, as members are shown it (SPEC §3).
    struct RegisteredPatient: Sendable {
        let email: String
        let verifiedNumber: String
        let joinedAt: Date
    }

    /// The patient account joined to the case, if any. Callers pass a case they already found for the member.
    static func registeredPatient(of caseID: UUID, on db: any Database) async throws -> RegisteredPatient? {
        struct Row: Decodable { let email: String; let verified_number: String; let joined_at: Date }
        return try await db.sql.raw("""
            SELECT patients.email, patients.verified_number, case_patients.joined_at
            FROM case_patients JOIN patients ON patients.id = case_patients.patient_id
            WHERE case_patients.case_id = \(bind: caseID)
            """).first(decoding: Row.self).map { RegisteredPatient(email: $0.email, verifiedNumber: $0.verified_number, joinedAt: $0.joined_at) }
    }

    /// Registered staff whose name or practice contains `text`, who are not members yet (for
    /// **Add a Doctor/Staff**). Case-insensitive on both engines; `%` and `_` are matched literally.
    static func searchStaff(_ text: String, notIn caseID: UUID, limit: Int, on db: any Database) async throws -> [MemberRow] {
        let escaped = text.lowercased()
            .replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        let pattern = SQLBind("%" + escaped + "%")
        let members = db.sql.select().column("staff_id").from("case_members").where("case_id", .equal, SQLBind(caseID))
        return try await db.sql.select()
            .columns(memberColumns)
            .from("staff_users")
            .join("practices", on: SQLColumn("id", table: "practices"), .equal, SQLColumn("practice_id", table: "staff_users"))
            .where {
                $0.where(SQLFunction("LOWER", args: SQLColumn("name", table: "staff_users")), .like, SQLEscapedPattern(pattern))
                  .orWhere(SQLFunction("LOWER", args: SQLColumn("name", table: "practices")), .like, SQLEscapedPattern(pattern))
            }
            .where(SQLColumn("id", table: "staff_users"), .notIn, SQLGroupExpression(members.query))
            .orderBy(SQLColumn("name", table: "staff_users"))
            .limit(limit)
            .all(decoding: MemberRow.self)
    }
}

/// `<pattern> ESCAPE '\'`, so a backslash in the pattern quotes the next character on both engines.
private struct SQLEscapedPattern: SQLExpression {
    let pattern: SQLBind
    init(_ pattern: SQLBind) { self.pattern = pattern }
    func serialize(to serializer: inout SQLSerializer) {
        pattern.serialize(to: &serializer)
        serializer.write(" ESCAPE '\\'")
    }
}
