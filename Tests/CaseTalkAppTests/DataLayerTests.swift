@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing

/// The data layer's rules: how a statement numbers its values, how lists are sized, that one
/// text reads the same on both engines, and that PostgreSQL prepares each statement once per
/// connection and then re-uses it.
@Suite struct DataLayerTests {
    @Test func statementTextMustNumberItsValuesInOrderOfFirstAppearance() {
        #expect(StatementCheck.problem(text: "SELECT 1", binds: 0) == nil)
        #expect(StatementCheck.problem(text: "WHERE a = $1 AND b = $2 OR a = $1", binds: 2) == nil, "a value may repeat")
        #expect(StatementCheck.problem(text: "WHERE a = $1 AND b = $2", binds: 3) != nil, "a value bound but never used")
        #expect(StatementCheck.problem(text: "WHERE a = $1 AND b = $3", binds: 3) != nil, "$3 before $2")
        #expect(StatementCheck.problem(text: "WHERE a = $2 AND b = $1", binds: 2) != nil,
                "SQLite would bind by first appearance, PostgreSQL by number")
        #expect(StatementCheck.problem(text: "WHERE a = $10 AND b = $1", binds: 10) != nil)
        #expect(StatementCheck.problem(text: "SELECT '$' || $1", binds: 1) == nil, "a dollar without a number is text")
        #expect(StatementCheck.problem(text: "VALUES (\(Bucket.rows(from: 2, columns: 3, count: 2))) AND $1", binds: 7) != nil)
        #expect(StatementCheck.problem(text: "SET x = $1 VALUES \(Bucket.rows(from: 2, columns: 3, count: 2))", binds: 7) == nil)
    }

    @Test func listsArePaddedAndRowsChunkedToThePreparedSizes() {
        #expect(Bucket.padded([7]) == [7])
        #expect(Bucket.padded([1, 2, 3]) == [1, 2, 3, 3])
        #expect(Bucket.padded(Array(1...5)) == [1, 2, 3, 4, 5, 5, 5, 5])
        #expect(Bucket.padded([Int]()) == [])
        #expect(Bucket.padded(Array(1...200)).count == 200, "beyond the largest size: as it is, unprepared")
        #expect(Bucket.chunks(Array(1...7)).map(\.count) == [4, 2, 1])
        #expect(Bucket.chunks(Array(1...300)).map(\.count) == [128, 128, 32, 8, 4])
        #expect(Bucket.chunks(Array(1...300)).flatMap { $0 } == Array(1...300), "every row once, in order")
        #expect(Bucket.list(from: 3, count: 3) == "$3, $4, $5")
        #expect(Bucket.rows(from: 1, columns: 2, count: 2) == "($1, $2), ($3, $4)")
    }

    @Test func outboxKindsAreSpelledOneWayAndOldRowsAreRenamed() async throws {
        for kind in OutboxKind.allCases {
            #expect(kind.rawValue.range(of: "^[a-z]+(-[a-z]+)*$", options: .regularExpression) != nil, "\(kind.rawValue)")
        }
        try await withCaseTalk { app, clock in
            let message = EmailMessage(from: "a@example.com", to: "b@example.com", subject: "s", text: "t", html: "<p>t</p>")
            try await Outbox.enqueue(message, kind: .memberAdded, relatedID: nil, sealer: app.caseTalk.sealer, at: clock.now, on: app.db)
            let row = try #require(try await OutboxEmail.query(on: app.db).first())
            row.kind = "member_added"   // as rows queued before kinds had a type were written
            try await row.save(on: app.db)
            try await UpdateOutboxKinds().prepare(on: app.db)
            #expect(try await OutboxEmail.query(on: app.db).all().map(\.kind) == [OutboxKind.memberAdded.rawValue])
        }
    }

    @Test func rateLimitSubjectsNeverShareABucket() {
        let id = UUID()
        let subjects: [RateLimitSubject] = [.staff(id), .patient(id), .invitation(id), .passwordResetCode(patientID: id),
                                            .signInCode(patientID: id), .twoStepSetup(staffID: id)]
        #expect(Set(subjects.map(\.key)).count == subjects.count)
        #expect(RateLimits.bucket(.signIn, .account, RateLimitSubject.staff(id).key)
                != RateLimits.bucket(.signIn, .account, RateLimitSubject.patient(id).key))
    }

    @Test func preparedNamesSayTheTableAndStatementWithinPostgreSQLsLimit() {
        #expect(Echo.preparedName(size: 1) == "ct.DataLayerTests.Echo.1")
        #expect(Generic<Marker>.preparedName(size: 4) == "ct.DataLayerTests.Generic<Marker>.4")
        #expect(StatementCheck.problem(Generic<Marker>.self, size: 1, binds: 0) == nil)
    }

    /// A value used twice is bound once, on both engines (SQLite names `$1`, PostgreSQL numbers it).
    @Test func aRepeatedValueReadsTheSameOnBothEngines() async throws {
        try await withCaseTalk { app, _ in
            let row = try #require(try await app.db.first(Echo(first: "one", second: "two"), as: Echo.Row.self))
            #expect(row.a == "one" && row.b == "two" && row.c == "one")
        }
    }

    /// On PostgreSQL, a statement run three times on one connection is prepared once, under its
    /// name, and executed three times; a list of 3 and one of 4 share the prepared text for 4.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DATABASE_URL"].map { !$0.isEmpty } ?? false,
                   "runs where DATABASE_URL names a PostgreSQL server"))
    func postgresPreparesEachStatementOncePerConnectionAndReusesIt() async throws {
        try await withCaseTalk(adjust: { $0.databasePoolSize = 1 }) { app, _ in
            let db = app.db   // one event loop's pool, of one connection
            for _ in 0..<3 { _ = try await SessionsTable.load(idHash: UUID().uuidString, on: db) }
            try await ConversationsTable.markSeen([UUID(), UUID(), UUID()], by: .member, on: db)
            try await ConversationsTable.markSeen([UUID(), UUID(), UUID(), UUID()], by: .member, on: db)

            let prepared = try await db.all(PreparedHere(), as: PreparedHere.Row.self)
            let runs = Dictionary(prepared.map { ($0.name, $0.runs) }, uniquingKeysWith: +)
            #expect(runs["ct.SessionsTable.Load.1"] == 3, "\(runs)")
            #expect(runs["ct.ConversationsTable.ClearMemberUnread.4"] == 2, "\(runs)")
            #expect(runs["ct.ConversationsTable.ClearMemberUnread.3"] == nil, "\(runs)")
            #expect(prepared.filter { $0.name == "ct.SessionsTable.Load.1" }.count == 1, "prepared once")
        }
    }

    private struct Echo: Statement {
        struct Row: Decodable { let a: String; let b: String; let c: String }
        static let writes = false
        static func text(size _: Int) -> String { "SELECT CAST($1 AS TEXT) AS a, CAST($2 AS TEXT) AS b, CAST($1 AS TEXT) AS c" }
        let first: String, second: String
        var binds: [any SQLValue] { [first, second] }
    }

    private enum Marker {}
    private struct Generic<T>: Statement {
        static var writes: Bool { false }
        static func text(size _: Int) -> String { "SELECT 1 AS n" }
        var binds: [any SQLValue] { [] }
    }

    /// What this connection has prepared, and how often each ran (PostgreSQL 14 and later).
    private struct PreparedHere: Statement {
        struct Row: Decodable { let name: String; let runs: Int }
        static let writes = false
        static func text(size _: Int) -> String {
            "SELECT name, CAST(generic_plans + custom_plans AS INTEGER) AS runs FROM pg_prepared_statements WHERE name LIKE 'ct.%'"
        }
        var binds: [any SQLValue] { [] }
    }
}
