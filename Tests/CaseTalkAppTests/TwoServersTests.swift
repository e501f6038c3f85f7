@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// Two CaseTalk servers on one database (PostgreSQL when `DATABASE_URL` names one, else one SQLite
/// file): what one does, the other sees, because sessions, limits, locks and the outbox all live
/// in the database.
func withTwoServers(adjust: (inout AppConfig) -> Void = { _ in },
                    _ body: (Application, Application, TestClock) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("casetalk-two-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let onPostgres = !(ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "").isEmpty
    try await withCaseTalk(database: onPostgres ? nil : .sqliteFile(path: folder + "/casetalk.sqlite"), adjust: adjust) { first, clock in
        let second = try await Application.make(.testing)
        var config = AppConfig.testing(database: first.caseTalk.config.database)
        adjust(&config)
        config.database = first.caseTalk.config.database
        config.dataKey = first.caseTalk.config.dataKey
        do {
            try await configure(second, config: config)
            second.caseTalk.clock = AppClock { clock.now }
            try await body(first, second, clock)
        } catch {
            try? await second.asyncShutdown()
            throw error
        }
        try await second.asyncShutdown()
    }
}

@Suite struct TwoServersTests {
    @Test func aSessionMadeOnOneServerWorksOnTheOtherAndEndsOnBoth() async throws {
        try await withTwoServers { first, second, _ in
            try await Fixtures(app: first).ada()
            let onFirst = Browser(first)
            #expect(try await onFirst.signIn("ada@example.com").location == "/cases")
            let onSecond = Browser(second)
            onSecond.useCookie(onFirst.sessionCookie)
            #expect(try await onSecond.get("/cases").status == .ok, "the second server knows the session")
            let out = try await onSecond.post("/logout", [])
            #expect(out.location == "/login", "signed out on the second: \(out.status)")
            #expect(try await onFirst.get("/cases").location?.hasPrefix("/login") == true, "signed out on both")
        }
    }

    /// SPEC §9: a deactivation on one server ends the account's session on the other at its next request.
    @Test func aDeactivationOnOneServerEndsTheSessionOnTheOther() async throws {
        try await withTwoServers { first, second, _ in
            let fx = Fixtures(app: first)
            let practice = try await fx.practice("Riverside Dental")
            try await fx.staff("ada@riverside.example", name: "Dr. Ada Park", practice: practice, admin: true)
            let ben = try await fx.staff("ben@riverside.example", name: "Dr. Ben Stone", practice: practice)
            let benOnSecond = Browser(second)
            #expect(try await benOnSecond.signIn("ben@riverside.example").location == "/cases")
            let adaOnFirst = Browser(first)
            try await adaOnFirst.signIn("ada@riverside.example")
            try await adaOnFirst.get("/practice/staff/\(ben)/deactivate")
            #expect(try await adaOnFirst.post("/practice/staff/\(ben)/deactivate", []).location == "/practice?done=deactivated")
            #expect(try await benOnSecond.get("/cases").location?.hasPrefix("/login") == true, "signed out on the other server")
            #expect(try await Browser(second).signIn("ben@riverside.example").status == .unauthorized)
        }
    }

    @Test func aLockMadeOnOneServerHoldsOnTheOther() async throws {
        try await withTwoServers { first, second, _ in
            try await Fixtures(app: first).ada()
            for n in 0..<5 {
                try await Browser(n % 2 == 0 ? first : second).signIn("ada@example.com", password: "wrong wrong wrong")
            }
            #expect(try await Browser(second).signIn("ada@example.com").status == .unauthorized, "locked after 5, across servers")
            #expect(try await Browser(first).signIn("ada@example.com").status == .unauthorized)
        }
    }

    /// Both servers' outbox workers deliver at the same time: every email goes out exactly once.
    @Test func twoOutboxWorkersNeverSendAnEmailTwice() async throws {
        try await withTwoServers { first, second, clock in
            let mailers = [RecordingMailer(), RecordingMailer()]
            let count = 60
            for n in 0..<count {
                let message = EmailMessage(from: "CaseTalk <no-reply@localhost>", to: "r\(n)@example.com", subject: "n\(n)",
                                           text: "t", html: "<p>t</p>")
                try await Outbox.enqueue(message, kind: .passwordChanged, relatedID: nil, sealer: first.caseTalk.sealer, at: clock.now, on: first.db)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (app, mailer) in zip([first, second], mailers) {
                    group.addTask {
                        while try await Outbox.deliverDue(db: app.db, mailer: mailer, sealer: app.caseTalk.sealer, now: clock.now,
                                                          logger: app.logger) > 0 {}
                    }
                }
                try await group.waitForAll()
            }
            let subjects = mailers.flatMap { $0.sent.map(\.subject) }
            print("figures: two outbox workers on one database: emails \(count), sent \(subjects.count), by the first \(mailers[0].sent.count), by the second \(mailers[1].sent.count), duplicated \(subjects.count - Set(subjects).count)")
            #expect(subjects.count == count && Set(subjects).count == count)
            #expect(try await OutboxEmail.query(on: first.db).filter(\.$status == .sent).count() == count)
        }
    }
}
