import Fluent
import Foundation

/// The `conversations` table's statements (rows: `Conversation`). Every read names the
/// signed-in person: the member whose Patient Talk it is, or the patient of its case.
enum ConversationsTable {
    /// `conversations` with the member's name and practice and the case's title: the one join
    /// behind every conversation a patient sees.
    private static let withNames = """
        FROM conversations
        JOIN case_patients ON case_patients.case_id = conversations.case_id
        JOIN cases ON cases.id = conversations.case_id
        JOIN staff_users ON staff_users.id = conversations.member_id
        JOIN practices ON practices.id = staff_users.practice_id
        """
    private static let namedColumns = """
        conversations.id, conversations.case_id, conversations.member_id, \(AccountsTable.shownName()) AS member_name,
        staff_users.name AS member_own_name,
        practices.name AS practice_name, practices.time_zone AS practice_time_zone, cases.title AS case_title, conversations.closed_at
        """

    /// A conversation as the patient's pages show it.
    struct ForPatient: Decodable, Sendable {
        let id: UUID
        let caseId: UUID
        let memberId: UUID
        let memberName: String
        /// Without "(inactive)": for "{name} is no longer available here".
        let memberOwnName: String
        let practiceName: String
        let practiceTimeZone: String
        let caseTitle: String
        /// Closed (SPEC §9: its member left and nobody took it over): readable, no replies.
        let closedAt: Date?
    }

    /// One line of the Secure Inbox (read column by column, as the session is: the page's rows).
    struct InboxLine: Sendable {
        let id: UUID
        let memberName: String
        let practiceName: String
        let practiceTimeZone: String
        let caseTitle: String
        let lastMessageAt: Date
        let patientUnread: Int
    }

    /// The patient's conversations, newest activity first: `limit` of them after `offset`.
    static func inbox(patientID: UUID, limit: Int, offset: Int, on db: any Database) async throws -> [InboxLine] {
        try await db.rows(Inbox(patientID: patientID, limit: limit, offset: offset)).map { row in
            InboxLine(id: try row.decode(column: "id", as: UUID.self), memberName: try row.decode(column: "member_name", as: String.self),
                      practiceName: try row.decode(column: "practice_name", as: String.self),
                      practiceTimeZone: try row.decode(column: "practice_time_zone", as: String.self),
                      caseTitle: try row.decode(column: "case_title", as: String.self),
                      lastMessageAt: try row.decode(column: "last_message_at", as: Date.self),
                      patientUnread: try row.decode(column: "patient_unread", as: Int.self))
        }
    }

    /// Conversation `id`, only if the patient is its case's patient. A conversation a member
    /// made by sending a file ahead has no message yet: the patient sees it once it has one
    /// (here and in the inbox).
    static func forPatient(_ id: UUID, patientID: UUID, on db: any Database) async throws -> ForPatient? {
        try await db.first(OneForPatient(id: id, patientID: patientID), as: ForPatient.self)
    }

    /// The member's own conversation on a case, if they have written in it.
    static func forMember(caseID: UUID, memberID: UUID, on db: any Database) async throws -> Conversation? {
        try await Conversation.query(on: db).filter(\.$caseID == caseID).filter(\.$memberID == memberID).first()
    }

    /// The patient's unread replies across their cases.
    static func unread(patientID: UUID, on db: any Database) async throws -> Int {
        struct Row: Decodable { let unread: Int? }
        return try await db.first(Unread(patientID: patientID), as: Row.self)?.unread ?? 0
    }

    /// The case's conversations list in the Secure Inbox of `patientID` (nil: of no one, as
    /// when the patient's access is removed).
    static func setPatient(_ patientID: UUID?, ofCase caseID: UUID, on db: any Database) async throws {
        try await db.run(SetPatient(patientID: patientID, caseID: caseID))
    }

    private struct Unread: Statement {
        static let writes = false
        // SUM of a bigint is numeric on PostgreSQL: cast back to an integer on both engines.
        static func text(size _: Int) -> String {
            """
            SELECT CAST(SUM(conversations.patient_unread) AS INTEGER) AS unread
            FROM conversations JOIN case_patients ON case_patients.case_id = conversations.case_id
            WHERE case_patients.patient_id = $1
            """
        }
        let patientID: UUID
        var binds: [any SQLValue] { [patientID] }
    }

    private struct SetPatient: Statement {
        static let writes = true
        static func text(size _: Int) -> String { "UPDATE conversations SET patient_id = $1 WHERE case_id = $2" }
        let patientID: UUID?, caseID: UUID
        var binds: [any SQLValue] { [patientID, caseID] }
    }

    /// The page's conversations are found first, on their own, in the order of the inbox index
    /// (patient, last message), and only those are joined to their names: PostgreSQL's generic
    /// plan for a prepared statement expects a patient to have a few conversations, and for the
    /// one-statement join it sorted all of them (1.7 ms for 400) where this walks the index to
    /// the page (0.13 ms; see bench/PROFILE.md). The case's patient is still checked in the join.
    private struct Inbox: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT page.id, \(AccountsTable.shownName()) AS member_name, practices.name AS practice_name,
                   practices.time_zone AS practice_time_zone, cases.title AS case_title,
                   page.last_message_at, page.patient_unread
            FROM (SELECT id, case_id, member_id, last_message_at, patient_unread FROM conversations
                  WHERE patient_id = $1 AND message_count > 0 ORDER BY last_message_at DESC, id ASC LIMIT $2 OFFSET $3) AS page
            JOIN case_patients ON case_patients.case_id = page.case_id AND case_patients.patient_id = $1
            JOIN cases ON cases.id = page.case_id
            JOIN staff_users ON staff_users.id = page.member_id
            JOIN practices ON practices.id = staff_users.practice_id
            ORDER BY page.last_message_at DESC, page.id ASC
            """
        }
        let patientID: UUID, limit: Int, offset: Int
        var binds: [any SQLValue] { [patientID, limit, offset] }
    }

    private struct OneForPatient: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            "SELECT \(namedColumns) \(withNames) WHERE conversations.id = $1 AND case_patients.patient_id = $2 AND conversations.message_count > 0"
        }
        let id: UUID, patientID: UUID
        var binds: [any SQLValue] { [id, patientID] }
    }

    // MARK: Departures (see `Departures`)

    /// An open Patient Talk of a member who is leaving, as the practice's admins decide on it:
    /// the case and the patient it is with, never its messages.
    struct Owned: Decodable, Sendable {
        let id: UUID
        let caseId: UUID
        let caseTitle: String
        let patientFirstName: String
        let patientLastName: String
        let lastMessageAt: Date
    }

    /// The open conversations of member `memberID` of practice `practiceID`, latest activity first.
    static func owned(byMember memberID: UUID, practiceID: UUID, on db: any Database) async throws -> [Owned] {
        try await db.all(OwnedBy(memberID: memberID, practiceID: practiceID), as: Owned.self)
    }

    /// Who has a conversation of their own on the cases where member `memberID` has one: a
    /// conversation cannot be handed over to them (one Patient Talk per member and case).
    static func otherOwners(onCasesOf memberID: UUID, on db: any Database) async throws -> [Pair] {
        struct Row: Decodable { let caseId: UUID; let memberId: UUID }
        return try await db.all(OtherOwners(memberID: memberID), as: Row.self).map { Pair(caseID: $0.caseId, memberID: $0.memberId) }
    }

    /// Hands open conversation `id` from member `from` to member `to`, both of practice
    /// `practiceID`, `to` active and without a conversation of their own on the case: one
    /// conditional statement. The case, when it did.
    static func handOver(_ id: UUID, from: UUID, to: UUID, practiceID: UUID, on db: any Database) async throws -> UUID? {
        struct Row: Decodable { let caseId: UUID }
        return try await db.first(HandOver(to: to, id: id, from: from, practiceID: practiceID), as: Row.self)?.caseId
    }

    /// Closes open conversation `id` of member `memberID` of practice `practiceID`. Whether it did.
    static func close(_ id: UUID, memberID: UUID, practiceID: UUID, now: Date, on db: any Database) async throws -> Bool {
        try await !db.rows(Close(now: now, id: id, memberID: memberID, practiceID: practiceID)).isEmpty
    }

    /// Closes the open conversations of members deactivated at or before `deactivatedBy` (SPEC §9:
    /// undecided for 7 days): each closed one's member.
    static func closeUndecided(deactivatedBy: Date, now: Date, on db: any Database) async throws -> [UUID] {
        struct Row: Decodable { let memberId: UUID }
        return try await db.all(CloseUndecided(now: now, deactivatedBy: deactivatedBy), as: Row.self).map(\.memberId)
    }

    /// How many open conversations each deactivated member of practice `practiceID` still has.
    static func undecidedCounts(ofPractice practiceID: UUID, on db: any Database) async throws -> [UUID: Int] {
        struct Row: Decodable { let memberId: UUID; let talks: Int }
        return Dictionary(try await db.all(UndecidedCounts(practiceID: practiceID), as: Row.self).map { ($0.memberId, $0.talks) },
                          uniquingKeysWith: +)
    }

    private struct UndecidedCounts: Statement {
        static let writes = false
        // COUNT is a bigint on PostgreSQL: cast back to an integer on both engines.
        static func text(size _: Int) -> String {
            """
            SELECT conversations.member_id, CAST(COUNT(*) AS INTEGER) AS talks
            FROM conversations JOIN staff_users ON staff_users.id = conversations.member_id
            WHERE staff_users.practice_id = $1 AND staff_users.deactivated_at IS NOT NULL AND conversations.closed_at IS NULL
            GROUP BY conversations.member_id
            """
        }
        let practiceID: UUID
        var binds: [any SQLValue] { [practiceID] }
    }

    private struct OwnedBy: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT conversations.id, conversations.case_id, cases.title AS case_title, cases.patient_first_name,
                   cases.patient_last_name, conversations.last_message_at
            FROM conversations
            JOIN cases ON cases.id = conversations.case_id
            JOIN staff_users ON staff_users.id = conversations.member_id
            WHERE conversations.member_id = $1 AND staff_users.practice_id = $2 AND conversations.closed_at IS NULL
            ORDER BY conversations.last_message_at DESC, conversations.id ASC
            """
        }
        let memberID: UUID, practiceID: UUID
        var binds: [any SQLValue] { [memberID, practiceID] }
    }

    private struct OtherOwners: Statement {
        static let writes = false
        static func text(size _: Int) -> String {
            """
            SELECT case_id, member_id FROM conversations
            WHERE case_id IN (SELECT case_id FROM conversations WHERE member_id = $1) AND member_id <> $1
            """
        }
        let memberID: UUID
        var binds: [any SQLValue] { [memberID] }
    }

    private struct HandOver: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE conversations SET member_id = $1, member_notified_at = NULL
            WHERE id = $2 AND member_id = $3 AND closed_at IS NULL
              AND member_id IN (SELECT id FROM staff_users WHERE practice_id = $4)
              AND $1 IN (SELECT id FROM staff_users WHERE practice_id = $4 AND deactivated_at IS NULL)
              AND NOT EXISTS (SELECT 1 FROM conversations AS taken WHERE taken.case_id = conversations.case_id AND taken.member_id = $1)
            RETURNING case_id
            """
        }
        let to: UUID, id: UUID, from: UUID, practiceID: UUID
        var binds: [any SQLValue] { [to, id, from, practiceID] }
    }

    private struct Close: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE conversations SET closed_at = $1
            WHERE id = $2 AND member_id = $3 AND closed_at IS NULL
              AND member_id IN (SELECT id FROM staff_users WHERE practice_id = $4)
            RETURNING id
            """
        }
        let now: Date, id: UUID, memberID: UUID, practiceID: UUID
        var binds: [any SQLValue] { [now, id, memberID, practiceID] }
    }

    private struct CloseUndecided: Statement {
        static let writes = true
        static func text(size _: Int) -> String {
            """
            UPDATE conversations SET closed_at = $1
            WHERE closed_at IS NULL AND member_id IN (SELECT id FROM staff_users WHERE deactivated_at <= $2)
            RETURNING member_id
            """
        }
        let now: Date, deactivatedBy: Date
        var binds: [any SQLValue] { [now, deactivatedBy] }
    }

    // MARK: Sending (see `MessageWriter`)

    /// A member on a case.
    struct Pair: Hashable, Sendable { let caseID: UUID; let memberID: UUID }

    /// `(case_members.case_id = $a AND case_members.staff_id = $b) OR …`, numbered from `first`.
    private static func memberships(from first: Int, count: Int) -> String {
        (0..<count).map { "(case_members.case_id = $\(first + 2 * $0) AND case_members.staff_id = $\(first + 2 * $0 + 1))" }
            .joined(separator: " OR ")
    }
    private static func binds(_ pairs: [Pair]) -> [any SQLValue] { pairs.flatMap { [$0.caseID, $0.memberID] as [any SQLValue] } }

    /// Moves the activity time of these members' own conversations on these cases (and only
    /// theirs: a colleague must not learn of a Patient Talk).
    static func touchSenders(_ pairs: Set<Pair>, at now: Date, on db: any Database) async throws {
        try await db.run(TouchSenders(pairs: Bucket.padded(Array(pairs)), now: now))
    }

    /// Of these pairs, the ones where the member is on the case, and of those the conversations that exist.
    static func memberships(_ pairs: Set<Pair>, on db: any Database) async throws -> (members: Set<Pair>, conversations: [Pair: UUID]) {
        guard !pairs.isEmpty else { return ([], [:]) }
        struct Row: Decodable { let caseId: UUID; let staffId: UUID; let conversationId: UUID? }
        var members: Set<Pair> = [], conversations: [Pair: UUID] = [:]
        for row in try await db.all(Memberships(pairs: Bucket.padded(Array(pairs))), as: Row.self) {
            let pair = Pair(caseID: row.caseId, memberID: row.staffId)
            members.insert(pair)
            if let id = row.conversationId { conversations[pair] = id }
        }
        return (members, conversations)
    }

    /// Makes the conversations of these members on these cases (a member's first message); one
    /// made at the same moment by another server is kept.
    static func create(_ pairs: Set<Pair>, at now: Date, on db: any Database) async throws {
        for chunk in Bucket.chunks(Array(pairs)) { try await db.run(Create(pairs: Array(chunk), now: now)) }
    }

    /// Each conversation's new messages: in all, by the member, by the patient.
    struct Counts: Sendable { var total = 0, byMember = 0, byPatient = 0 }

    /// Adds the new messages to each conversation's counters (the member's wait for the patient,
    /// the patient's for the member) and moves its activity time, in one statement.
    static func count(_ counts: [UUID: Counts], at now: Date, on db: any Database) async throws {
        guard !counts.isEmpty else { return }
        try await db.run(Count(counts: Bucket.padded(Array(counts)), now: now))
    }

    /// The viewer has seen these conversations: their unread count goes to 0.
    static func markSeen(_ ids: Set<UUID>, by viewer: MessageAuthor, on db: any Database) async throws {
        let ids = Bucket.padded(Array(ids))
        switch viewer {
        case .member: try await db.run(ClearMemberUnread(ids: ids))
        case .patient: try await db.run(ClearPatientUnread(ids: ids))
        }
    }

    private struct TouchSenders: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            """
            UPDATE conversations SET last_message_at = $1
            WHERE id IN (SELECT conversations.id FROM conversations JOIN case_members
                         ON case_members.case_id = conversations.case_id AND case_members.staff_id = conversations.member_id
                         WHERE \(memberships(from: 2, count: size)))
            """
        }
        let pairs: [Pair], now: Date
        var size: Int { pairs.count }
        var binds: [any SQLValue] { [now] + ConversationsTable.binds(pairs) }
    }

    private struct Memberships: Statement {
        static let writes = false
        static func text(size: Int) -> String {
            """
            SELECT case_members.case_id, case_members.staff_id, conversations.id AS conversation_id
            FROM case_members LEFT JOIN conversations
              ON conversations.case_id = case_members.case_id AND conversations.member_id = case_members.staff_id
                 AND conversations.closed_at IS NULL
            WHERE \(memberships(from: 1, count: size))
            """
        }
        let pairs: [Pair]
        var size: Int { pairs.count }
        var binds: [any SQLValue] { ConversationsTable.binds(pairs) }
    }

    private struct Create: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            let rows = (0..<size).map { row in
                let id = 1 + 4 * row
                return "($\(id), $\(id + 1), $\(id + 2), $\(id + 3), $\(id + 3), 0, 0, 0, (SELECT patient_id FROM case_patients WHERE case_id = $\(id + 1)))"
            }
            return """
                INSERT INTO conversations
                  (id, case_id, member_id, created_at, last_message_at, message_count, member_unread, patient_unread, patient_id)
                VALUES \(rows.joined(separator: ", ")) ON CONFLICT (case_id, member_id) DO NOTHING
                """
        }
        let pairs: [Pair], now: Date
        var size: Int { pairs.count }
        var binds: [any SQLValue] { pairs.flatMap { [UUID(), $0.caseID, $0.memberID, now] as [any SQLValue] } }
    }

    private struct Count: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            // $1: the time; then per conversation its id and total ($2, $3, $4, $5, …), then the
            // member's counts, then the patient's.
            func cases(_ value: (Int) -> Int) -> String {
                "CASE id " + (0..<size).map { "WHEN $\(2 + 2 * $0) THEN $\(value($0))" }.joined(separator: " ") + " ELSE 0 END"
            }
            let ids = (0..<size).map { "$\(2 + 2 * $0)" }.joined(separator: ", ")
            return """
                UPDATE conversations SET last_message_at = $1,
                  message_count = message_count + \(cases { 3 + 2 * $0 }),
                  patient_unread = patient_unread + \(cases { 2 + 2 * size + $0 }),
                  member_unread = member_unread + \(cases { 2 + 3 * size + $0 })
                WHERE id IN (\(ids))
                """
        }
        let counts: [(key: UUID, value: Counts)], now: Date
        var size: Int { counts.count }
        var binds: [any SQLValue] {
            [now] + counts.flatMap { [$0.key, $0.value.total] as [any SQLValue] }
                + counts.map(\.value.byMember) + counts.map(\.value.byPatient)
        }
    }

    private static func clearUnread(_ column: String, size: Int) -> String {
        "UPDATE conversations SET \(column) = 0 WHERE id IN (\(Bucket.list(from: 1, count: size)))"
    }

    private struct ClearMemberUnread: Statement {
        static let writes = true
        static func text(size: Int) -> String { clearUnread("member_unread", size: size) }
        let ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { ids }
    }

    private struct ClearPatientUnread: Statement {
        static let writes = true
        static func text(size: Int) -> String { clearUnread("patient_unread", size: size) }
        let ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { ids }
    }

    // MARK: Notifications (see `Notifications`)

    /// Of these conversations, claims those whose `recipient` was not told in the interval
    /// before `now` (and, for the patient, whose case has one): the ids claimed. One conditional
    /// update, so parallel sends notify once.
    static func claimNotice(_ ids: Set<UUID>, to recipient: MessageAuthor, now: Date, notTellingSince: Date,
                            on db: any Database) async throws -> [UUID] {
        struct Row: Decodable { let id: UUID }
        let ids = Bucket.padded(Array(ids))
        switch recipient {
        case .patient:
            return try await db.all(ClaimPatientNotice(now: now, ids: ids, since: notTellingSince), as: Row.self).map(\.id)
        case .member:
            return try await db.all(ClaimMemberNotice(now: now, ids: ids, since: notTellingSince), as: Row.self).map(\.id)
        }
    }

    private static func claimNotice(_ column: String, reachable: String, size: Int) -> String {
        """
        UPDATE conversations SET \(column) = $1
        WHERE id IN (\(Bucket.list(from: 2, count: size))) \(reachable)
          AND (\(column) IS NULL OR \(column) <= $\(size + 2))
        RETURNING id
        """
    }

    private struct ClaimPatientNotice: Statement {
        static let writes = true
        static func text(size: Int) -> String {
            // Nobody to tell until the patient has an account; their first sign-in shows the message.
            claimNotice("patient_notified_at", reachable: "AND case_id IN (SELECT case_id FROM case_patients)", size: size)
        }
        let now: Date, ids: [UUID], since: Date
        var size: Int { ids.count }
        var binds: [any SQLValue] { [now] + ids + [since] }
    }

    private struct ClaimMemberNotice: Statement {
        static let writes = true
        static func text(size: Int) -> String { claimNotice("member_notified_at", reachable: "", size: size) }
        let now: Date, ids: [UUID], since: Date
        var size: Int { ids.count }
        var binds: [any SQLValue] { [now] + ids + [since] }
    }

    /// Where a notification about each conversation goes: the member's practice names the
    /// sender; the address is the patient's or the member's.
    struct NoticeAddress: Decodable, Sendable {
        let id: UUID
        let caseId: UUID
        let practiceName: String
        let memberEmail: String
        let patientEmail: String?
    }

    static func noticeAddresses(_ ids: [UUID], on db: any Database) async throws -> [NoticeAddress] {
        guard !ids.isEmpty else { return [] }
        return try await db.all(NoticeAddresses(ids: Bucket.padded(ids)), as: NoticeAddress.self)
    }

    private struct NoticeAddresses: Statement {
        static let writes = false
        static func text(size: Int) -> String {
            """
            SELECT conversations.id, conversations.case_id, practices.name AS practice_name,
                   staff_users.email AS member_email, patients.email AS patient_email
            FROM conversations
            JOIN staff_users ON staff_users.id = conversations.member_id
            JOIN practices ON practices.id = staff_users.practice_id
            LEFT JOIN case_patients ON case_patients.case_id = conversations.case_id
            LEFT JOIN patients ON patients.id = case_patients.patient_id
            WHERE conversations.id IN (\(Bucket.list(from: 1, count: size)))
            """
        }
        let ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { ids }
    }

    /// Of these conversations, those `recipient` has read since being told (unread back to 0):
    /// their mark is cleared, so the next message tells again. The ids cleared.
    static func clearNoticeIfRead(_ ids: [UUID], by recipient: MessageAuthor, on db: any Database) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        struct Row: Decodable { let id: UUID }
        let ids = Bucket.padded(ids)
        switch recipient {
        case .patient: return Set(try await db.all(ClearPatientNoticeIfRead(ids: ids), as: Row.self).map(\.id))
        case .member: return Set(try await db.all(ClearMemberNoticeIfRead(ids: ids), as: Row.self).map(\.id))
        }
    }

    private static func clearNotice(_ column: String, unread: String, size: Int) -> String {
        "UPDATE conversations SET \(column) = NULL WHERE id IN (\(Bucket.list(from: 1, count: size))) AND \(unread) = 0 RETURNING id"
    }

    private struct ClearPatientNoticeIfRead: Statement {
        static let writes = true
        static func text(size: Int) -> String { clearNotice("patient_notified_at", unread: "patient_unread", size: size) }
        let ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { ids }
    }

    private struct ClearMemberNoticeIfRead: Statement {
        static let writes = true
        static func text(size: Int) -> String { clearNotice("member_notified_at", unread: "member_unread", size: size) }
        let ids: [UUID]
        var size: Int { ids.count }
        var binds: [any SQLValue] { ids }
    }
}
