@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Testing
import VaporTesting

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current = NIOLockedValueBox(Date(timeIntervalSince1970: 1_795_000_000))
    var now: Date { current.withLockedValue { $0 } }
    func advance(by seconds: TimeInterval) { current.withLockedValue { $0.addTimeInterval(seconds) } }
}

/// Runs `body` against a new CaseTalk application with its own empty, migrated database:
/// in-memory SQLite, or — when DATABASE_URL names a PostgreSQL server — a schema of its own that
/// is dropped afterwards. Either way, tests run in parallel without seeing each other's data.
/// `logMark`: metadata every log line of this app carries (`app-mark=…`), for a test that reads its
/// own lines in `LogCapture`.
func withCaseTalk(database: AppConfig.DatabaseTarget? = nil, adjust: (inout AppConfig) -> Void = { _ in }, logMark: String? = nil,
                  _ body: (Application, TestClock) async throws -> Void) async throws {
    let schema = "t_" + Digest.sha256Hex(SecureRandom.token()).prefix(16)
    let target: AppConfig.DatabaseTarget
    if let database {
        target = database
    } else if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
        target = .postgres(url: url, searchPath: [schema])
    } else {
        target = .sqliteMemory
    }
    let app = try await Application.make(.testing)
    if let logMark { app.logger[metadataKey: "app-mark"] = .string(logMark) }
    let clock = TestClock()
    do {
        var config = AppConfig.testing(database: target)
        adjust(&config)
        try await configure(app, config: config)
        app.caseTalk.clock = AppClock { clock.now }
        if case .postgres = target {
            try await app.db.sql.raw("CREATE SCHEMA \(unsafeRaw: schema)").run()
        }
        try await app.autoMigrate()
        try await body(app, clock)
    } catch {
        try? await dropSchema(app, target, schema)
        try? await app.asyncShutdown()
        throw error
    }
    try await dropSchema(app, target, schema)
    try await app.asyncShutdown()
}

private func dropSchema(_ app: Application, _ target: AppConfig.DatabaseTarget, _ schema: String) async throws {
    if case .postgres = target {
        try await app.db.sql.raw("DROP SCHEMA IF EXISTS \(unsafeRaw: schema) CASCADE").run()
    }
}

/// People and cases made directly, for tests that are about something else.
struct Fixtures {
    let app: Application
    static let password = "a-long-test-password"

    func practice(_ name: String = "Test Practice") async throws -> UUID {
        try await StaffAccounts.createPractice(name: name, at: app.caseTalk.clock.now(),
                                               auditKey: app.caseTalk.auditKey, on: app.db).requireID()
    }

    /// A staff account with two-step verification set up (as after its first sign-in), unless
    /// `twoStep` is false (as `casetalk staff create` leaves it).
    @discardableResult
    func staff(_ email: String, name: String, practice: UUID, role: StaffRole = .doctor, admin: Bool = false,
               twoStep: Bool = true) async throws -> UUID {
        let now = app.caseTalk.clock.now()
        let id = try await StaffAccounts.createStaff(
            .init(practiceID: practice, email: email, name: name, role: role, isAdmin: admin, password: Self.password),
            services: app.caseTalk, at: now, on: app.db).requireID()
        if twoStep {
            _ = try await StaffTwoStep.turnOn(staffID: id, key: TOTP.newKey(), usedStep: nil, sealer: app.caseTalk.sealer, auditKey: app.caseTalk.auditKey, now: now,
                                              clientAddress: "test", on: app.db)
        }
        return id
    }

    /// The one doctor most tests need: Dr. Ada, ada@example.com, at a practice of her own.
    @discardableResult
    func ada() async throws -> UUID {
        try await staff("ada@example.com", name: "Dr. Ada", practice: try await practice())
    }

    /// Dr. Ada, signed in, in a browser of her own.
    func signedInAda() async throws -> Browser {
        try await ada()
        let browser = Browser(app)
        try await browser.signIn("ada@example.com")
        return browser
    }

    /// Runs one round of the background worker's delivery at the test clock's time: Forgot
    /// password? requests, then the outbox. Returns how many emails it handled.
    @discardableResult
    func deliver(now: Date? = nil) async throws -> Int {
        try await PasswordResets.handleDue(services: app.caseTalk, now: now ?? app.caseTalk.clock.now(), on: app.db, logger: app.logger)
        return try await Outbox.deliverDue(db: app.db, mailer: app.caseTalk.mailer, sealer: app.caseTalk.sealer,
                                    now: now ?? app.caseTalk.clock.now(), logger: app.logger)
    }

    func count<M: Model>(_ model: M.Type) async throws -> Int { try await M.query(on: app.db).count() }
}

/// What a staff member's authenticator app would show, for tests about something else.
enum TwoStepSupport {
    struct NoCodeLeft: Error, CustomStringConvertible {
        let description = "the last three steps' codes are used: advance the test clock by 30 s"
    }

    static func key(_ app: Application, email: String) async throws -> (key: [UInt8], lastStep: Int64?) {
        let staff = try #require(try await StaffUser.query(on: app.db).filter(\.$email == email).first())
        let sealed = try #require(staff.totpKey)
        return (try app.caseTalk.sealer.open(sealed, context: SealedData.twoStepKeyContext(try staff.requireID())), staff.totpLastStep)
    }

    /// The oldest code still accepted: a step within the drift, later than the last one used.
    static func nextCode(_ app: Application, email: String) async throws -> String {
        let (key, lastStep) = try await key(app, email: email)
        let now = TOTP.step(at: app.caseTalk.clock.now())
        let step = max(now - TOTP.drift, (lastStep ?? Int64.min) + 1)
        guard step <= now + TOTP.drift else { throw NoCodeLeft() }
        return TOTP.code(key: key, step: step)
    }
}
