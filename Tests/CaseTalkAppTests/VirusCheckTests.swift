@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Testing
import VaporTesting

/// The virus check (SPEC §8, `CLAMD_ADDRESS`), with a scanner that stands in for clamd (the real
/// one runs in e2e/test_virus_check.py): files wait as "Checking…" and answer 404 until checked;
/// a clean file is then shown; a refused one never is, its thread says so, its bytes are removed
/// and the trail records it; while the scanner is down files wait, and pass once it is back.
@Suite struct VirusCheckTests {
    /// Refuses any file carrying `signature`; down until told otherwise.
    final class StandInScanner: VirusScanner {
        static let signature = "CASETALK-TEST-SIGNATURE"
        struct Down: Error {}
        let state = NIOLockedValueBox((up: false, scanned: [[UInt8]]()))

        func scan(_ content: (_ write: ([UInt8]) async throws -> Void) async throws -> Void) async throws -> ClamdProtocol.Verdict {
            guard state.withLockedValue({ $0.up }) else { throw Down() }
            var bytes: [UInt8] = []
            try await content { bytes += $0 }
            state.withLockedValue { $0.scanned.append(bytes) }
            return bytes.firstRange(of: Array(Self.signature.utf8)) == nil ? .clean : .infected("CaseTalk.Test.Signature")
        }
    }

    func statuses(_ app: Application) async throws -> [String: String] {
        struct Row: Decodable { let file_type: String; let status: String }
        let rows = try await app.db.sql.raw("SELECT file_type, status FROM attachments").all(decoding: Row.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.file_type, $0.status) })
    }

    func ids(_ app: Application) async throws -> [String: UUID] {
        struct Row: Decodable { let file_type: String; let id: UUID }
        let rows = try await app.db.sql.raw("SELECT file_type, id FROM attachments").all(decoding: Row.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.file_type, $0.id) })
    }

    @Test func filesWaitForTheCheckAndARefusedOneIsNeverShown() async throws {
        try await withCaseTalk { app, clock in
            let scanner = StandInScanner()
            app.caseTalk.scanner = scanner
            let t = try await TalkWorld.make(app, clock)
            let world = t.registration.invitations.world
            let routes = AttachmentRouteTests()
            try await t.write("Please send the photo and the old report.", as: t.ben)
            let conversation = try #require(try await t.conversation(of: world.ben)).requireID()
            try await t.pat.get("/inbox/\(conversation)")
            let infected = Array("%PDF-1.7\n\(StandInScanner.signature)\n%%EOF\n".utf8)
            let sent = try await t.pat.postFiles("/uploads/inbox/\(conversation)", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Both attached."),
                .file("IMG_0042.jpg", AttachmentRouteTests.phonePhoto, type: "image/jpeg"),
                .file("Old report.pdf", infected, type: "application/pdf"),
            ])
            #expect(sent.status == .seeOther, "\(sent.status) \(sent.body.string)")
            let files = try await ids(app)
            let photo = try #require(files["jpeg"]), report = try #require(files["pdf"])

            // Waiting: named as "Checking…", linked nowhere, 404 to both.
            let waiting = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(waiting.components(separatedBy: "Checking…").count == 3 && waiting.contains("IMG_0042.jpg"))
            #expect(routes.fileIDs(in: waiting).isEmpty)
            for viewer in [t.ben, t.pat] {
                for id in [photo, report] { #expect(try await viewer.get("/files/\(id)").status == .notFound) }
            }
            #expect(try await t.ben.get("/cases/\(t.caseID)/attachments").body.string.contains("IMG_0042") == false)

            // The scanner is down: the round fails, the files wait.
            await #expect(throws: StandInScanner.Down.self) {
                _ = try await Attachments.checkWaiting(scanner: scanner, services: app.caseTalk, now: clock.now, on: app.db, logger: app.logger)
            }
            #expect(try await statuses(app) == ["jpeg": "checking", "pdf": "checking"])

            // Back: the photo passes, the report is refused.
            scanner.state.withLockedValue { $0.up = true }
            #expect(try await Attachments.checkWaiting(scanner: scanner, services: app.caseTalk, now: clock.now, on: app.db, logger: app.logger) == 2)
            #expect(try await statuses(app) == ["jpeg": "ready", "pdf": "refused"])
            #expect(try await Attachments.checkWaiting(scanner: scanner, services: app.caseTalk, now: clock.now, on: app.db, logger: app.logger) == 0)

            let shownPhoto = try await t.ben.get("/files/\(photo)")
            #expect(shownPhoto.status == .ok)
            #expect(scanner.state.withLockedValue { $0.scanned }.contains([UInt8](shownPhoto.body.readableBytesView)),
                    "the scanner was given the file as it is shown, not its sealed bytes")
            for viewer in [t.ben, t.pat] {
                #expect(try await viewer.get("/files/\(report)").status == .notFound)
                #expect(try await viewer.get("/files/\(report)?download=1").status == .notFound)
            }
            for page in [try await t.ben.get("/cases/\(t.caseID)/talk"), try await t.pat.get("/inbox/\(conversation)")] {
                let text = page.body.string
                #expect(text.contains("Old report.pdf") && text.contains("This file didn&#39;t pass our security check."), "the sender is told")
                #expect(!text.contains("/files/\(report)") && text.contains("/files/\(photo)"))
            }
            #expect(routes.storedFiles(app).count == 1, "the refused file's bytes are removed")
            let refusals = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.attachmentRefused.rawValue).all()
            #expect(refusals.map(\.subject) == ["conversation:\(conversation) attachment:\(report)"] && refusals.first?.actorKind == "system")
        }
    }

    @Test func withoutAScannerFilesAreReadyWhenSent() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.ben.get("/cases/\(t.caseID)/talk")
            _ = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", ""),
                .file("Plan.pdf", AttachmentRouteTests.pdf, type: "application/pdf"),
            ])
            #expect(try await statuses(app) == ["pdf": "ready"])
        }
    }

    @Test func clamdsAnswersAreRead() throws {
        #expect(try ClamdProtocol.verdict(Array("stream: OK\0".utf8)) == .clean)
        #expect(try ClamdProtocol.verdict(Array("stream: Eicar-Test-Signature FOUND\0".utf8)) == .infected("Eicar-Test-Signature"))
        #expect(throws: ClamdProtocol.ScanFailed(reply: "INSTREAM size limit exceeded. ERROR")) {
            try ClamdProtocol.verdict(Array("INSTREAM size limit exceeded. ERROR\0".utf8))
        }
        #expect(throws: ClamdProtocol.ScanFailed.self) { try ClamdProtocol.verdict([]) }
        let framed = ClamdProtocol.chunks([UInt8](repeating: 7, count: ClamdProtocol.chunkSize + 3))
        #expect(framed.count == 2 && framed[0].prefix(4) == [0, 1, 0, 0] && framed[1] == [0, 0, 0, 3, 7, 7, 7])
        #expect(ClamdAddress.parse("127.0.0.1:3310") == ClamdAddress(host: "127.0.0.1", port: 3310))
        #expect(ClamdAddress.parse("[::1]:3310")?.description == "[::1]:3310")
        for bad in ["127.0.0.1", "clamd:0", "clamd:70000", ":3310", "a b:1"] { #expect(ClamdAddress.parse(bad) == nil, "\(bad)") }
    }
}
