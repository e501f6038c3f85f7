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
        let last_activity_at: Date
        /// The patient's replies in this member's own Patient Talk not yet opened (theirs only).
        let unread: Int
    }

    /// The member's cases, newest activity first, one page at a time (one statement per page).
    static func casesOf(member staffID: UUID, page: Int, pageSize: Int, on db: any Database) async throws -> [ListRow] {
        let columns: [any SQLExpression] = ["id", "patient_first_name", "patient_last_name", "title", "last_activity_at"]
            .map { SQLColumn($0, table: "cases") }
        let memberCase = SQLColumn("case_id", table: "case_members")
        let caseID = SQLColumn("id", table: "cases")
        let offset: Int = max(0, page - 1) * pageSize
        let member = SQLBind(staffID)
        // Only the member's own conversation is joined, so no one learns of a colleague's.
        let ownConversation = SQLBinaryExpression(
            SQLBinaryExpression(SQLColumn("case_id", table: "conversations"), .equal, caseID), .and,
            SQLBinaryExpression(SQLColumn("member_id", table: "conversations"), .equal, member))
        let query = db.sql.select()
            .columns(columns)
            .column(SQLFunction("COALESCE", args: SQLColumn("member_unread", table: "conversations"), SQLLiteral.numeric("0")), as: "unread")
            .from("cases")
            .join("case_members", on: memberCase, .equal, caseID)
            .join("conversations", method: SQLJoinMethod.left, on: ownConversation)
            .where(SQLColumn("staff_id", table: "case_members"), .equal, member)
        query.orderBy(SQLColumn("last_activity_at", table: "cases"), SQLDirection.descending).orderBy(caseID, SQLDirection.ascending)
        query.limit(pageSize + 1).offset(offset)
        return try await query.all(decoding: ListRow.self)
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
