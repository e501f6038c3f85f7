@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

@Suite struct SecurityHeaderTests {
    @Test func everyResponseCarriesTheHeaders() async throws {
        try await withCaseTalk { app, _ in
            for path in ["/login", "/no-such-page", "/css/app.css", "/healthz"] {
                let response = try await Browser(app).get(path)
                let csp = try #require(response.headers.first(name: "Content-Security-Policy"), "\(path)")
                #expect(csp.contains("script-src 'self'"))
                #expect(!csp.contains("unsafe-inline"))
                #expect(csp.contains("frame-ancestors 'none'"))
                #expect(response.headers.first(name: "X-Content-Type-Options") == "nosniff")
                #expect(response.headers.first(name: "Referrer-Policy") == "no-referrer")
                #expect(response.headers.first(name: "X-Frame-Options") == "DENY")
            }
            #expect(try await Browser(app).get("/login").headers.first(name: .cacheControl) == "no-store")
            #expect(try await Browser(app).get("/css/app.css").headers.first(name: .cacheControl) != "no-store")
        }
    }

    /// Review L2: HSTS whenever the public address is https, and not on plain http (where a
    /// browser would ignore it anyway).
    @Test func httpsAddsStrictTransportSecurity() async throws {
        try await withCaseTalk { app, _ in
            let plain = try await Browser(app).get("/login")
            #expect(plain.headers.first(name: "Strict-Transport-Security") == nil)
            app.caseTalk.config.publicBaseURL = URL(string: "https://portal.example")!
            for path in ["/login", "/no-such-page", "/css/app.css"] {
                let response = try await Browser(app).get(path)
                #expect(response.headers.first(name: "Strict-Transport-Security") == "max-age=31536000; includeSubDomains", "\(path)")
            }
        }
    }

    @Test func errorPagesAreGenericAndHaveNoInlineScript() async throws {
        try await withCaseTalk { app, _ in
            let response = try await Browser(app).get("/no-such-page")
            #expect(response.status == .notFound)
            #expect(response.body.string.contains("We couldn&#39;t find that page.") || response.body.string.contains("We couldn't find that page."))
            #expect(!response.body.string.contains("<script>"))
        }
    }

    @Test func oversizedBodiesAreRefused() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            let browser = try await fx.signedInAda()
            try await browser.get("/cases/new")
            let huge = String(repeating: "x", count: 200_000)
            let response = try await browser.post("/cases", [("first_name", "A"), ("last_name", "B"), ("title", "T"), ("notes", huge)])
            #expect(response.status == .payloadTooLarge)
            #expect(try await fx.count(PatientCase.self) == 0)
        }
    }
}

@Suite struct AuditTrailTests {
    func verify(_ app: Application, heads: [SignedAuditHead] = [], pageSize: Int = 1000) async throws -> AuditChain.Verdict {
        try await Audit.verify(on: app.db, key: app.caseTalk.auditKey, heads: heads, pageSize: pageSize)
    }

    func failures(_ app: Application, _ count: Int) async throws {
        for n in 0..<count {
            try await Audit.record(.signInFailed, actor: .anonymous, subject: "n\(n)", clientAddress: "127.0.0.1", at: Date(),
                                   key: app.caseTalk.auditKey, on: app.db)
        }
    }

    @Test func verifyDetectsAnEditedRow() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            try await fx.ada()
            try await Browser(app).signIn("ada@example.com", password: "wrong-password-1")
            try await Browser(app).signIn("ada@example.com")
            guard case .intact(let entries) = try await verify(app) else {
                Issue.record("a fresh chain must verify"); return
            }
            #expect(entries == 7, "practice, staff, two-step on, failed sign-in, password, two-step code, sign-in")

            // The database refuses the edit; someone who can drop its guard can make it.
            await #expect(throws: (any Error).self) {
                try await app.db.sql.update("audit_entries").set("action", to: "signin.succeeded").where("seq", .equal, 3).run()
            }
            await #expect(throws: (any Error).self) {
                try await app.db.sql.delete(from: "audit_entries").where("seq", .equal, 7).run()
            }
            #expect(try await verify(app) == .intact(entries: 7), "nothing changed")
            try await UpdateAuditEntryAppendOnly.dropGuards(on: app.db)
            try await app.db.sql.update("audit_entries").set("action", to: "signin.succeeded").where("seq", .equal, 3).run()
            #expect(try await verify(app) == .broken(atSequence: 3))
        }
    }

    /// Review M5: with the database alone, an edit followed by recomputing every later hash (as
    /// SHA-256, the old chain's rule) and the head row used to verify. It no longer does.
    @Test func anEditRechainedWithoutTheKeyIsDetected() async throws {
        try await withCaseTalk { app, _ in
            try await failures(app, 5)
            try await UpdateAuditEntryAppendOnly.dropGuards(on: app.db)
            var previous = AuditChain.genesis
            for entry in try await AuditEntry.query(on: app.db).sort(\.$id).all() {
                var record = entry.record
                if record.sequence == 2 { record.clientAddress = "10.9.9.9" }
                let hash = record.unkeyedHash(previous: previous)
                try await app.db.sql.update("audit_entries").set("client_address", to: record.clientAddress)
                    .set("previous_hash", to: previous).set("hash", to: hash).where("seq", .equal, record.sequence).run()
                previous = hash
            }
            try await app.db.sql.update("audit_head").set("hash", to: previous).where("id", .equal, 1).run()
            #expect(try await verify(app) == .broken(atSequence: 1))
        }
    }

    @Test func anInsertedEntryIsDetected() async throws {
        try await withCaseTalk { app, _ in
            try await failures(app, 4)
            try await UpdateAuditEntryAppendOnly.dropGuards(on: app.db)
            // Shift entries 3 and 4 up and put a forged entry at 3, chained with a key of the forger's.
            let forger = AuditKey(Array(repeating: 9, count: 32))
            try await app.db.sql.raw("UPDATE audit_entries SET seq = seq + 10 WHERE seq >= 3").run()
            try await app.db.sql.raw("UPDATE audit_entries SET seq = seq - 9 WHERE seq >= 13").run()
            let second = try #require(try await AuditEntry.find(2, on: app.db))
            let forged = AuditRecord(sequence: 3, occurredAtMillis: second.occurredAtMillis, actorKind: "staff", actorID: UUID().uuidString,
                                     action: AuditAction.signInSucceeded.rawValue, subject: "", clientAddress: "127.0.0.1")
            try await app.db.sql.insert(into: "audit_entries")
                .columns("seq", "occurred_at_ms", "actor_kind", "actor_id", "action", "subject", "client_address", "user_agent",
                         "previous_hash", "hash")
                .values(SQLBind(forged.sequence), SQLBind(forged.occurredAtMillis), SQLBind(forged.actorKind), SQLBind(forged.actorID),
                        SQLBind(forged.action), SQLBind(""), SQLBind(forged.clientAddress), SQLBind(""), SQLBind(second.hash),
                        SQLBind(forged.chainHash(previous: second.hash, key: forger)))
                .run()
            try await app.db.sql.raw("UPDATE audit_head SET seq = 5").run()
            #expect(try await verify(app) == .broken(atSequence: 3))
        }
    }

    @Test func verifyDetectsEntriesCutFromTheEnd() async throws {
        try await withCaseTalk { app, _ in
            let fx = Fixtures(app: app)
            try await fx.staff("ada@example.com", name: "Dr. Ada", practice: try await fx.practice(), twoStep: false)
            try await UpdateAuditEntryAppendOnly.dropGuards(on: app.db)
            try await app.db.sql.delete(from: "audit_entries").where("seq", .equal, 2).run()
            #expect(try await verify(app) == .broken(atSequence: 2))
        }
    }

    /// Review M5: cutting the tail and moving the head row back to the last entry kept passes the
    /// database's own check; a head the server signed and logged before the cut does not.
    @Test func aSignedHeadCatchesATruncationTheHeadRowHides() async throws {
        try await withCaseTalk { app, clock in
            try await failures(app, 6)
            let logged = try #require(try await Audit.signedHead(on: app.db, key: app.caseTalk.auditKey, at: clock.now))
            #expect(logged.sequence == 6)
            #expect(try await verify(app, heads: [logged]) == .intact(entries: 6))

            try await UpdateAuditEntryAppendOnly.dropGuards(on: app.db)
            try await app.db.sql.delete(from: "audit_entries").where("seq", .greaterThan, 4).run()
            let kept = try #require(try await AuditEntry.find(4, on: app.db))
            try await app.db.sql.update("audit_head").set("seq", to: Int64(4)).set("hash", to: kept.hash).where("id", .equal, 1).run()
            #expect(try await verify(app) == .intact(entries: 4), "the database alone cannot tell")
            #expect(try await verify(app, heads: [logged]) == .truncated(missingFrom: 5))
        }
    }

    /// The background worker writes the signed head to the log once the trail has grown, and not
    /// again while it has not.
    @Test func theSignedHeadIsLoggedWhenTheTrailGrows() async throws {
        try await withCaseTalk { app, clock in
            let label = "audit-head-test-\(UUID())"
            _ = LogCapture.shared
            let logger = Logger(label: label)
            try await failures(app, 2)
            var last = try await Audit.publishHead(after: nil, on: app.db, key: app.caseTalk.auditKey, at: clock.now, logger: logger)
            last = try await Audit.publishHead(after: last, on: app.db, key: app.caseTalk.auditKey, at: clock.now, logger: logger)
            try await failures(app, 1)
            _ = try await Audit.publishHead(after: last, on: app.db, key: app.caseTalk.auditKey, at: clock.now, logger: logger)
            let heads = SignedAuditHead.all(in: LogCapture.shared.all.filter { $0.contains("[\(label)]") }.joined(separator: "\n"))
            #expect(heads.map(\.sequence) == [2, 3])
            #expect(heads.allSatisfy { $0.isSigned(by: app.caseTalk.auditKey) })
            #expect(try await verify(app, heads: heads) == .intact(entries: 3))
        }
    }

    @Test func verificationReadsTheTrailInPages() async throws {
        try await withCaseTalk { app, _ in
            try await failures(app, 10)
            #expect(try await verify(app, pageSize: 3) == .intact(entries: 10))
            try await UpdateAuditEntryAppendOnly.dropGuards(on: app.db)
            try await app.db.sql.update("audit_entries").set("client_address", to: "10.0.0.1").where("seq", .equal, 7).run()
            #expect(try await verify(app, pageSize: 3) == .broken(atSequence: 7))
        }
    }

    @Test func concurrentWritersKeepTheChainIntact() async throws {
        try await withCaseTalk { app, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                // 24 at once: enough to interleave on every engine, few enough that the last one's
                // wait for a pooled PostgreSQL connection stays well inside its timeout on a busy machine.
                for n in 0..<24 {
                    group.addTask {
                        try await Audit.record(.signInFailed, actor: .anonymous, subject: "n\(n)", clientAddress: "127.0.0.1",
                                               at: Date(), key: app.caseTalk.auditKey, on: app.db)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await verify(app) == .intact(entries: 24))
        }
    }

    /// Migration 024 on a trail written under the old unkeyed chain: checked, re-chained under the
    /// key, the browser string moved out of Terms subjects, and the re-chaining recorded.
    @Test func anUnkeyedTrailIsRechainedUnderTheKey() async throws {
        try await withCaseTalk { app, _ in
            let migration = UpdateAuditEntryKeyChain(key: app.caseTalk.auditKey)
            for tampered in [false, true] {
                // The old trail is laid down on one connection, in one transaction.
                let previous = try await app.db.transaction { tx -> String in
                    try await tx.sql.raw("DELETE FROM audit_head").run()
                    try await UpdateAuditEntryAppendOnly.dropGuards(on: tx)
                    try await tx.sql.raw("DELETE FROM audit_entries").run()
                    try await UpdateAuditEntryAppendOnly().prepare(on: tx)
                    try await migration.revert(on: tx)
                    try await UpdateAuditEntryAppendOnly.dropGuards(on: tx)
                    var previous = AuditChain.genesis
                    let subjects = ["staff:1", "invitation:2 version:2026-01 agent:Mozilla/5.0 (X11) agent:odd", "conversation:3"]
                    for (n, subject) in subjects.enumerated() {
                        let record = AuditRecord(sequence: Int64(n + 1), occurredAtMillis: 1_700_000_000_000, actorKind: "anonymous", actorID: "",
                                                 action: n == 1 ? AuditAction.termsAccepted.rawValue : "signin.failed", subject: subject,
                                                 clientAddress: "127.0.0.1")
                        let hash = record.unkeyedHash(previous: previous)
                        try await tx.sql.insert(into: "audit_entries")
                            .columns("seq", "occurred_at_ms", "actor_kind", "actor_id", "action", "subject", "client_address", "previous_hash", "hash")
                            .values(SQLBind(record.sequence), SQLBind(record.occurredAtMillis), SQLBind(record.actorKind), SQLBind(""),
                                    SQLBind(record.action), SQLBind(tampered && n == 2 ? "conversation:4" : subject), SQLBind(record.clientAddress),
                                    SQLBind(previous), SQLBind(hash))
                            .run()
                        previous = hash
                    }
                    try await tx.sql.raw("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, \(bind: previous))").run()
                    try await UpdateAuditEntryAppendOnly().prepare(on: tx)
                    // The migration too (its own transaction joins this one): on an in-memory SQLite
                    // database a schema change on one pooled connection may not yet show on another.
                    try await migration.prepare(on: tx)
                    return previous
                }

                #expect(try await verify(app) == .intact(entries: 4))
                let entries = try await AuditEntry.query(on: app.db).sort(\.$id).all()
                #expect(entries[1].subject == "invitation:2 version:2026-01")
                #expect(entries[1].userAgent == "Mozilla/5.0 (X11) agent:odd")
                #expect(entries[3].action == AuditAction.trailRekeyed.rawValue)
                #expect(entries[3].subject == "previous-head:3:\(previous) previous-chain:\(tampered ? "broken-at:3" : "intact")")
                let guards = app.db.sql.dialect.name == "sqlite"
                    ? "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries'"
                    : "SELECT tgname FROM pg_trigger WHERE tgname = 'audit_entries_no_change' AND tgrelid = 'audit_entries'::regclass"
                #expect(try await app.db.sql.raw(SQLQueryString(guards)).all().count == (app.db.sql.dialect.name == "sqlite" ? 2 : 1),
                        "the append-only guards are back")
            }
        }
    }
}

/// Review M5: opening a case's Overview (name, date of birth, email, notes) is audited.
@Suite struct CaseViewAuditTests {
    @Test func theOverviewIsAudited() async throws {
        try await withCaseTalk { app, _ in
            let world = try await CaseWorld.make(app)
            let (ben, caseID) = try await world.caseByBen()
            #expect(try await ben.get("/cases/\(caseID)").status == .ok)
            #expect(try await ben.get("/cases/\(caseID)?q=Moreau").status == .ok)
            let views = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.caseViewed.rawValue).sort(\.$id).all()
            #expect(views.map(\.subject) == ["case:\(caseID)", "case:\(caseID) staff-search-results:1"])
            #expect(views.allSatisfy { $0.actorKind == "staff" && $0.actorID == world.ben.uuidString })
            #expect(try await Browser(app).get("/cases/\(caseID)").status == .seeOther)
            #expect(try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.caseViewed.rawValue).count() == 2,
                    "nothing shown, nothing recorded")
        }
    }
}

@Suite struct ConfigurationTests {
    @Test func productionNamesEveryMissingSetting() {
        do {
            _ = try AppConfig.load(environment: .production, variables: [:], workingDirectory: "/tmp/")
            Issue.record("production must not start without its settings")
        } catch let error as AppConfig.MissingSetting {
            let text = error.description
            for name in ["PUBLIC_BASE_URL", "SMTP_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "CASETALK_DATA_KEY",
                         "CASETALK_AUDIT_KEY"] {
                #expect(text.contains(name), "names \(name)")
            }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func productionAcceptsACompleteConfiguration() throws {
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let config = try AppConfig.load(environment: .production, variables: [
            "PUBLIC_BASE_URL": "https://portal.example", "SMTP_URL": "smtp://mail.example:587",
            "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+15550100",
            "CASETALK_DATA_KEY": key, "CASETALK_AUDIT_KEY": Data((32..<64).map { UInt8($0) }).base64EncodedString(),
            "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db",
        ], workingDirectory: "/tmp/")
        #expect(config.usesSecureCookies)
        #expect(config.dataKey.count == 32 && config.auditKey.count == 32)
        // Whoever holds the data key must not hold the audit key with it.
        #expect(throws: AppConfig.MissingSetting.self) {
            try AppConfig.load(environment: .production, variables: [
                "PUBLIC_BASE_URL": "https://portal.example", "SMTP_URL": "smtp://mail.example:587",
                "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+15550100",
                "CASETALK_DATA_KEY": key, "CASETALK_AUDIT_KEY": key,
            ], workingDirectory: "/tmp/")
        }
        #expect(config.database == .postgres(url: "postgres://u:p@127.0.0.1:5432/db"))
        #expect(config.databasePoolSize == 8)
    }

    @Test func thePoolSizeIsAWholeNumberInRange() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/casetalk-config-\(UUID().uuidString)/"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try AppConfig.load(environment: .development, variables: ["DATABASE_POOL_SIZE": "3"], workingDirectory: dir)
            .databasePoolSize == 3)
        for bad in ["0", "101", "many", "2.5"] {
            #expect(throws: AppConfig.MissingSetting.self) {
                try AppConfig.load(environment: .development, variables: ["DATABASE_POOL_SIZE": bad], workingDirectory: dir)
            }
        }
    }

    /// `ATTACHMENT_STORE=s3://BUCKET?endpoint=URL&region=R` (SPEC §8) with its two credentials;
    /// anything else is refused at start-up with a message saying what to write.
    @Test func theS3StoreSettingIsReadWhole() throws {
        func parse(_ text: String, id: String? = "AKID", secret: String? = "SECRET", production: Bool = false) -> Result<AttachmentStoreSetting, AttachmentStoreSetting.Problem> {
            AttachmentStoreSetting.parse(text, workingDirectory: "/srv/", accessKeyID: id, secretAccessKey: secret, isProduction: production)
        }
        let read = try parse("s3://casetalk-files?endpoint=http://127.0.0.1:9000&region=eu-central-1").get()
        #expect(read == .s3(.init(bucket: "casetalk-files", endpoint: URL(string: "http://127.0.0.1:9000")!, region: "eu-central-1",
                                  accessKeyID: "AKID", secretAccessKey: "SECRET")))
        #expect(try parse("s3://files.example").get() == .s3(.init(bucket: "files.example", endpoint: URL(string: "https://s3.us-east-1.amazonaws.com")!,
                                                                 region: "us-east-1", accessKeyID: "AKID", secretAccessKey: "SECRET")))
        #expect((try? parse("s3://files?endpoint=http://127.0.0.1:9000", production: true).get()) != nil, "a store on this machine may be plain http")
        #expect(try parse("file:data/files").get() == .folder(path: "/srv/data/files"))
        let refusals: [(String, String?, String?, Bool, String)] = [
            ("s3://files?endpoint=http://127.0.0.1:9000", nil, "SECRET", false, "needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"),
            ("s3://files?endpoint=http://127.0.0.1:9000", "AKID", "", false, "needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"),
            ("s3://Bad_Bucket", "AKID", "SECRET", false, "is not a bucket name"),
            ("s3://-files", "AKID", "SECRET", false, "is not a bucket name"),
            ("s3://files/folder", "AKID", "SECRET", false, "write s3://BUCKET?endpoint=URL&region=R"),
            ("s3://files?bucket=other", "AKID", "SECRET", false, "takes endpoint= and region= only"),
            ("s3://files?region=EU%20West", "AKID", "SECRET", false, "region= must be a region name"),
            ("s3://files?endpoint=ftp://store.example", "AKID", "SECRET", false, "endpoint= must be an address"),
            ("s3://files?endpoint=https://store.example/bucket", "AKID", "SECRET", false, "endpoint= must be an address"),
            ("s3://files?endpoint=http://store.example", "AKID", "SECRET", true, "must be https in production"),
            ("gs://files", "AKID", "SECRET", false, "must be file:PATH"),
        ]
        for (text, id, secret, production, expected) in refusals {
            guard case .failure(let problem) = parse(text, id: id, secret: secret, production: production) else {
                Issue.record("\(text) was accepted")
                continue
            }
            #expect(problem.message.contains(expected), "\(text): \(problem.message)")
        }
        // Read from the environment as a whole: the credentials come from their own variables.
        let dir = FileManager.default.temporaryDirectory.path + "/casetalk-config-\(UUID().uuidString)/"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try AppConfig.load(environment: .development, variables: [
            "ATTACHMENT_STORE": "s3://files?endpoint=http://127.0.0.1:9000", "S3_ACCESS_KEY_ID": "AK", "S3_SECRET_ACCESS_KEY": "SK",
        ], workingDirectory: dir)
        guard case .s3(let s3) = config.attachmentStore else { Issue.record("not the S3 store"); return }
        #expect(s3.accessKeyID == "AK" && s3.secretAccessKey == "SK")
    }

    @Test func productionRefusesPlainHttpAndShortKeys() {
        #expect(throws: AppConfig.MissingSetting.self) {
            try AppConfig.load(environment: .production, variables: [
                "PUBLIC_BASE_URL": "http://portal.example", "SMTP_URL": "smtp://m:25", "TWILIO_ACCOUNT_SID": "a",
                "TWILIO_AUTH_TOKEN": "b", "TWILIO_FROM_NUMBER": "c",
                "CASETALK_DATA_KEY": Data(count: 32).base64EncodedString(),
            ], workingDirectory: "/tmp/")
        }
        #expect(throws: AppConfig.MissingSetting.self) {
            try AppConfig.load(environment: .development, variables: ["CASETALK_DATA_KEY": "c2hvcnQ="], workingDirectory: "/tmp/")
        }
    }
}

@Suite struct MigrationTests {
    @Test func migrationsRevertAndApplyAgain() async throws {
        try await withCaseTalk { app, _ in
            #expect(try await Browser(app).get("/readyz").status == .ok)
            try await app.autoRevert()
            #expect(try await Browser(app).get("/readyz").status == .serviceUnavailable)
            try await app.autoMigrate()
            #expect(try await Browser(app).get("/readyz").status == .ok)
            let fx = Fixtures(app: app)
            try await fx.staff("ada@example.com", name: "Dr. Ada", practice: try await fx.practice(), twoStep: false)
            #expect(try await Audit.verify(on: app.db, key: app.caseTalk.auditKey) == .intact(entries: 2))
        }
    }

    /// Hostile paths get an ordinary answer (a 5,000-character path once reached the file system
    /// and answered 500); the public files are still served.
    @Test func hostilePathsAreNotFound() async throws {
        try await withCaseTalk { app, _ in
            for path in ["/cases/" + String(repeating: "9", count: 5000), "/css/" + String(repeating: "a", count: 5000),
                         "/" + String(repeating: "x", count: 300), "/css/../Package.swift", "/js/%2e%2e/%2e%2e/Package.swift"] {
                let response = try await Browser(app).get(path)
                #expect(response.status.code < 500 && response.status != .ok, "\(path.prefix(40)): \(response.status)")
                #expect(!response.body.string.contains("swift-tools-version"))
            }
            #expect(try await Browser(app).get("/css/app.css").status == .ok)
        }
    }

    /// A request that outlives its deadline is answered 503 with a message and Retry-After, and a
    /// quick one on the same guard is untouched (the deadline in production is 30 s).
    @Test func aRequestPastItsDeadlineIsAnsweredAsAnError() async throws {
        try await withCaseTalk { app, _ in
            let guarded = app.grouped(RequestDeadlineMiddleware(deadline: .milliseconds(300)))
            guarded.get("test-slow") { _ async throws -> String in
                try await Task.sleep(for: .seconds(5))
                return "finished"
            }
            guarded.get("test-quick") { _ in "quick" }
            let started = ContinuousClock.now
            let slow = try await Browser(app).get("/test-slow")
            #expect(slow.status == .serviceUnavailable)
            #expect(slow.body.string.contains("CaseTalk took too long to answer. Please try again in a moment."))
            #expect(slow.headers.first(name: .retryAfter) == "5")
            #expect(ContinuousClock.now - started < .seconds(4), "answered at the deadline, not when the work ended")
            let quick = try await Browser(app).get("/test-quick")
            #expect(quick.status == .ok && quick.body.string == "quick")
        }
    }

    @Test func migrationNamesAreFixed() {
        #expect(Migrations.all(auditKey: AuditKey(SecureRandom.bytes(32)), sealer: Sealer(key: SecureRandom.bytes(32))).map(\.name) == [
            "001_CreatePractice", "002_CreateStaffUser", "003_CreateCase", "004_CreateCaseMember",
            "005_CreateSession", "006_CreateAuditEntry", "007_CreateAuditHead", "008_CreateOutbox",
            "009_CreateDevMailbox", "010_CreateInvitation", "011_UpdateSessionAddRegistration",
            "012_CreateRegistration",
            "013_UpdateRegistrationAddSteps",
            "014_CreatePatient",
            "015_CreateConversation",
            "016_CreatePasswordReset",
            "017_CreateRateLimit",
            "018_UpdateMessageAddIdempotencyKey",
            "019_UpdateAuditEntryAppendOnly",
            "020_CreateMessageUnreadIndex",
            "021_UpdateConversationAddPatient", "022_UpdateCodeHoldersAddSessionBinding", "023_CreateTwoStepVerification",
            "024_UpdateAuditEntryKeyChain", "025_CreatePasswordResetRequest",
            "026_UpdateSealedDataKeyIDs", "027_UpdateOutboxKinds", "028_CreateAttachment", "029_UpdateMessageAddFileCount", "030_CreatePatientFileAllowance",
            "031_UpdateAttachmentAddViews", "032_UpdateAccountsAddResetAllowance", "033_UpdateAccountsAddLastSignIn",
            "034_CreateDepartures", "035_CreateStaffInvitation", "036_UpdatePracticeAddTimeZone",
        ])
        #expect(Migrations.count == 36)
    }
}

@Suite struct DemoDataTests {
    @Test func demoSeedsOnceAndItsSignInsWork() async throws {
        try await withCaseTalk { app, _ in
            #expect(try await DemoData.seed(on: app.db, services: app.caseTalk, now: app.caseTalk.clock.now()))
            #expect(!(try await DemoData.seed(on: app.db, services: app.caseTalk, now: app.caseTalk.clock.now())))
            let maya = Browser(app)
            #expect(try await maya.signIn(DemoData.people[0].email, password: DemoData.password).status == .seeOther)
            let list = try await maya.get("/cases")
            #expect(list.body.string.components(separatedBy: ">View<").count - 1 == 3)
        }
    }
}

@Suite struct EngineTests {
    /// The PostgreSQL pass of CI must really run on PostgreSQL, not quietly fall back to SQLite.
    @Test func testsRunOnTheEngineDatabaseURLNames() async throws {
        try await withCaseTalk { app, _ in
            let wantsPostgres = !(ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "").isEmpty
            #expect(app.db.sql.dialect.name == (wantsPostgres ? "postgresql" : "sqlite"))
        }
    }
}

/// SQLite writers take turns in memory (`WriteTurns`); reads never wait for a turn.
@Suite struct WriteTurnTests {
    /// Reads of the data layer, declared as the product's statements are.
    private struct Answer: Decodable { let n: Int }
    private struct CountSessions: Statement {
        static func text(size _: Int) -> String { "SELECT COUNT(*) AS n FROM sessions" }
        static let writes = false
        var binds: [any SQLValue] { [] }
    }
    private struct CountAudit: Statement {
        static func text(size _: Int) -> String { "  select count(*) as n from audit_entries" }
        static let writes = false
        var binds: [any SQLValue] { [] }
    }

    @Test func readsOfTheDataLayerDoNotWaitWhileAWriterHoldsItsTurn() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("casetalk-turns-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withCaseTalk(database: .sqliteFile(path: folder + "/casetalk.sqlite")) { app, _ in
            let (started, startedNow) = AsyncStream<Void>.makeStream()
            let (release, releaseNow) = AsyncStream<Void>.makeStream()
            // A writer holds its turn (and SQLite's write lock) until released.
            let writer = Task {
                try await app.db.transaction { tx in
                    try await tx.sql.raw("UPDATE audit_head SET seq = seq WHERE id = 1").run()
                    startedNow.yield()
                    for await _ in release { break }
                }
            }
            for await _ in started { break }
            let answered = await withTaskGroup(of: Bool.self) { group in
                group.addTask { (try? await app.db.first(CountSessions(), as: Answer.self)) != nil }
                group.addTask { (try? await app.db.first(CountAudit(), as: Answer.self)) != nil }
                group.addTask { try? await Task.sleep(for: .seconds(10)); return false }
                let first = await group.next()!
                if !first { releaseNow.yield() }  // a read waited: let the writer go so that the test ends
                let second = await group.next()!
                group.cancelAll()
                return first && second
            }
            releaseNow.yield()
            try await writer.value
            #expect(answered, "both reads answered while the writer held its turn")
        }
    }
}
