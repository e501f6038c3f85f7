@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Files sent ahead of their message, one at a time, by the page's script (SPEC §8 with
/// JavaScript, issue 19 item 1: a failed file is sent again alone). A file sent ahead is seen by
/// no one until a send of its own author names it; then exactly the two people who see the
/// message see it. It joins one message only, counts against a patient's files a day when it
/// arrives, and is swept with its row after a day if no send names it.
@Suite struct FilesSentAheadTests {
    let files = AttachmentRouteTests()
    static let pdf = AttachmentRouteTests.pdf

    /// Sends one file ahead: the answer, and the id the server gave it.
    func ahead(_ browser: Browser, _ path: String, _ name: String = "plan.pdf", _ bytes: [UInt8] = pdf,
               type: String = "application/pdf") async throws -> (TestingHTTPResponse, UUID?) {
        let answer = try await browser.postFiles(path, [.file(name, bytes, type: type)])
        return (answer, answer.headers.first(name: "X-CaseTalk-File").flatMap(UUID.init(uuidString:)))
    }

    /// Ben writes first; Pat opens the thread. Its id and the reply form's address.
    func replyOpen(_ t: TalkWorld) async throws -> (UUID, String) {
        try await t.write("Send what you have.", as: t.ben)
        let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
        try await t.pat.get("/inbox/\(conversation)")
        return (conversation, "/uploads/inbox/\(conversation)")
    }

    func fileCounts(_ app: Application) async throws -> [Int] {
        struct Row: Decodable { let file_count: Int }
        return try await app.db.sql.raw("SELECT file_count FROM messages ORDER BY created_at").all(decoding: Row.self).map(\.file_count)
    }

    @Test func aMembersFileIsSeenByNoOneUntilSentThenOnlyByThePair() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let world = t.registration.invitations.world
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let (answer, sent) = try await ahead(t.ben, "/uploads/cases/\(t.caseID)/talk/files")
            #expect(answer.status == .created, "\(answer.status) \(answer.body.string)")
            let id = try #require(sent)
            #expect(answer.body.string.isEmpty, "the answer names nothing but the id")
            // Waiting: not shown to its sender, its patient, or anyone else.
            let conversation = try #require(try await t.conversation(of: world.ben)).requireID()
            for viewer in [t.ben, t.pat, t.cy, t.quinn] {
                #expect(try await viewer.get("/files/\(id)").status == .notFound)
            }
            #expect(!(try await t.ben.get("/cases/\(t.caseID)/talk").body.string.contains("plan.pdf")))
            #expect(!(try await t.ben.get("/cases/\(t.caseID)/attachments").body.string.contains("plan.pdf")))
            // The conversation the file made has no message: the patient does not see it yet.
            #expect(!(try await t.pat.get("/inbox").body.string.contains("Dr. Ben Stone")))
            #expect(try await t.pat.get("/inbox/\(conversation)").status == .notFound)

            try await t.ben.get("/cases/\(t.caseID)/talk")
            let send = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Your plan."), .field("sent_ahead", id.uuidString),
            ])
            #expect(send.location == "/cases/\(t.caseID)/talk?done=message", "\(send.status) \(send.body.string)")
            let thread = try await t.pat.get("/inbox/\(conversation)")
            #expect(thread.status == .ok && thread.body.string.contains("Your plan.") && thread.body.string.contains("plan.pdf"))
            #expect(try await t.pat.get("/inbox").body.string.contains("Dr. Ben Stone"))
            for viewer in [t.ben, t.pat] {
                #expect([UInt8](try await viewer.get("/files/\(id)").body.readableBytesView) == Self.pdf)
            }
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            for outsider in [t.cy, t.quinn, ada, Browser(app)] {
                #expect(try await outsider.get("/files/\(id)").status == .notFound)
            }
            #expect(try await fileCounts(app) == [1])
            let uploads = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.attachmentUploaded.rawValue).count()
            #expect(uploads == 1, "the upload is in the trail once")
        }
    }

    @Test func aPatientsFilesJoinOneReplyOnceAndCountWhenTheyArrive() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let (conversation, path) = try await replyOpen(t)
            let (firstAnswer, first) = try await ahead(t.pat, path + "/files", "a.pdf")
            let (_, second) = try await ahead(t.pat, path + "/files", "b.pdf")
            let ids = [try #require(first), try #require(second)]
            #expect(firstAnswer.status == .created)

            let key = SecureRandom.token()
            let parts: [FormPart] = [.field("idempotency_key", key), .field("body", "Two files."),
                                     .field("sent_ahead", ids.map(\.uuidString).joined(separator: ","))]
            for _ in 0..<2 {   // the same form sent again (a lost answer) lands once
                let answer = try await t.pat.postFiles(path, parts, extraHeaders: ["X-CaseTalk-Upload": "1"])
                #expect(answer.status == .noContent, "\(answer.status) \(answer.body.string)")
                #expect(answer.headers.first(name: "X-CaseTalk-Location") == "/inbox/\(conversation)?sent=1")
            }
            #expect(try await fileCounts(app) == [0, 2])
            let thread = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(thread.contains("a.pdf") && thread.contains("b.pdf") && thread.contains("Two files."))

            // Another send cannot take them again; the typed text stays.
            let again = try await t.pat.postFiles(path, [.field("idempotency_key", SecureRandom.token()), .field("body", "Again."),
                                                         .field("sent_ahead", ids[0].uuidString)])
            #expect(again.status == .unprocessableEntity)
            #expect(again.body.string.contains(Uploads.notWaitingMessage) && again.body.string.contains(">Again.</textarea>"))
            let notAnID = try await t.pat.postFiles(path, [.field("idempotency_key", SecureRandom.token()), .field("body", "x"),
                                                           .field("sent_ahead", "../\(ids[0])")])
            #expect(notAnID.status == .unprocessableEntity)
            #expect(try await fileCounts(app) == [0, 2])
            #expect(try await files.rows(app) == 2)

            // Counted as they arrive: 28 more make 30 today, the next is refused and kept nowhere.
            for index in 0..<28 {
                let (answer, _) = try await ahead(t.pat, path + "/files", "p\(index).pdf")
                #expect(answer.status == .created, "file \(index + 3): \(answer.body.string)")
            }
            let (refused, none) = try await ahead(t.pat, path + "/files", "p30.pdf")
            #expect(refused.status == .unprocessableEntity && none == nil)
            #expect(refused.body.string.hasPrefix("You can send at most 30 files in 24 hours."), "\(refused.body.string)")
            #expect(try await files.rows(app) == 30 && files.storedFiles(app).count == 30)
        }
    }

    @Test func onlyItsSenderSendsAFileAheadOrNamesIt() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let world = t.registration.invitations.world
            try await t.write("Hello.", as: t.ben)
            let conversation = try #require(try await t.conversation(of: world.ben)).requireID()
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            try await ada.get("/cases")
            try await t.quinn.get("/inbox")
            try await t.pat.get("/inbox")
            // Not on the case, another patient, a conversation that is not there, a visitor.
            for (browser, path) in [(ada, "/uploads/cases/\(t.caseID)/talk/files"), (t.quinn, "/uploads/inbox/\(conversation)/files"),
                                    (t.pat, "/uploads/inbox/\(UUID())/files"), (t.pat, "/uploads/inbox/not-an-id/files")] {
                let (answer, id) = try await ahead(browser, path)
                #expect(answer.status == .notFound && id == nil, "\(path): \(answer.status)")
            }
            let visitor = try await Browser(app).postFiles("/uploads/inbox/\(conversation)/files", [.file("plan.pdf", Self.pdf)])
            #expect(visitor.status != .created && visitor.headers.first(name: "X-CaseTalk-File") == nil)
            #expect(try await files.rows(app) == 0 && files.storedFiles(app).isEmpty)

            // Ben's file waits in his conversation; neither Pat, nor Cy, can send it as theirs.
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let bens = try #require(try await ahead(t.ben, "/uploads/cases/\(t.caseID)/talk/files").1)
            try await t.pat.get("/inbox/\(conversation)")
            let pats = try #require(try await ahead(t.pat, "/uploads/inbox/\(conversation)/files").1)
            let byPat = try await t.pat.postFiles("/uploads/inbox/\(conversation)", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Mine?"), .field("sent_ahead", bens.uuidString),
            ])
            #expect(byPat.status == .unprocessableEntity && byPat.body.string.contains(Uploads.notWaitingMessage))
            for (member, id) in [(t.cy, bens), (t.ben, pats)] {
                try await member.get("/cases/\(t.caseID)/talk")
                let answer = try await member.postFiles("/uploads/cases/\(t.caseID)/talk", [
                    .field("idempotency_key", SecureRandom.token()), .field("body", "Mine?"), .field("sent_ahead", id.uuidString),
                ])
                #expect(answer.status == .unprocessableEntity && answer.body.string.contains(Uploads.notWaitingMessage))
            }
            #expect(try await t.conversation(of: world.cy) == nil, "Cy's refused send made nothing")
            #expect(try await fileCounts(app) == [0])
            // Each still waits for its own sender.
            try await t.ben.get("/cases/\(t.caseID)/talk")
            #expect(try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", ""), .field("sent_ahead", bens.uuidString),
            ]).status == .seeOther)
            #expect(try await t.pat.postFiles("/uploads/inbox/\(conversation)", [
                .field("idempotency_key", SecureRandom.token()), .field("body", ""), .field("sent_ahead", pats.uuidString),
            ]).status == .seeOther)
            #expect(try await fileCounts(app) == [0, 1, 1])
            #expect(try await t.cy.get("/files/\(bens)").status == .notFound)
            #expect(try await t.quinn.get("/files/\(pats)").status == .notFound)
        }
    }

    @Test func aRefusedFileSentAheadKeepsNothing() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let path = "/uploads/cases/\(t.caseID)/talk/files"
            try await t.cy.get("/cases/\(t.caseID)/talk")
            let html = Array("<html><script>alert(1)</script></html>".utf8)
            let cases: [(parts: [FormPart], message: String)] = [
                ([.file("photo.jpg", html, type: "image/jpeg")], "photo.jpg: This type of file can't be sent."),
                ([.file("empty.pdf", [], type: "application/pdf")], "empty.pdf: This file is empty or damaged."),
                ([.field("body", "no file")], "Choose a file to attach."),
                ([.file("a.pdf", Self.pdf, type: "application/pdf"), .file("b.pdf", Self.pdf, type: "application/pdf")],
                 "Send one file at a time."),
            ]
            for (parts, message) in cases {
                let answer = try await t.cy.postFiles(path, parts)
                #expect(answer.status == .unprocessableEntity, "\(message): \(answer.status)")
                #expect(answer.headers.first(name: .contentType) == "text/plain; charset=utf-8")
                #expect(answer.body.string.hasPrefix(message), "\(answer.body.string)")
                #expect(answer.headers.first(name: "X-CaseTalk-File") == nil)
            }
            #expect(try await t.cy.postFiles(path, [.file("a.pdf", Self.pdf)], csrf: "forged").status == .forbidden)
            #expect(try await t.cy.postFiles(path, [.file("a.pdf", Self.pdf)], csrf: .some(nil)).status == .forbidden)
            #expect(try await files.rows(app) == 0)
            #expect(files.storedFiles(app).isEmpty, "\(files.storedFiles(app))")
            #expect(try await t.conversation(of: t.registration.invitations.world.cy) == nil, "no conversation was made")
        }
    }

    @Test func filesSentAheadCountTowardsTheFilesOfOneMessage() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let (_, path) = try await replyOpen(t)
            var ids: [String] = []
            for index in 0..<10 { ids.append(try #require(try await ahead(t.pat, path + "/files", "p\(index).pdf").1).uuidString) }
            let tooMany = try await t.pat.postFiles(path, [
                .field("idempotency_key", SecureRandom.token()), .field("body", "All of them."), .field("sent_ahead", ids.joined(separator: ",")),
                .file("one-more.pdf", Self.pdf, type: "application/pdf"),
            ])
            #expect(tooMany.status == .unprocessableEntity)
            #expect(tooMany.body.string.contains("You can attach at most 10 files to one message."))
            #expect(try await files.rows(app) == 10 && files.storedFiles(app).count == 10, "the eleventh was not kept")
            #expect(try await t.pat.postFiles(path, [
                .field("idempotency_key", SecureRandom.token()), .field("body", "All of them."), .field("sent_ahead", ids.joined(separator: ",")),
            ]).status == .seeOther)
            #expect(try await fileCounts(app) == [0, 10])
        }
    }

    @Test func aFileNoSendNamedIsSweptWithItsRowAfterADay() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let waiting = try #require(try await ahead(t.ben, "/uploads/cases/\(t.caseID)/talk/files", "left.pdf").1)
            let sent = try #require(try await ahead(t.ben, "/uploads/cases/\(t.caseID)/talk/files", "sent.pdf").1)
            #expect(try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Plan."), .field("sent_ahead", sent.uuidString),
            ]).status == .seeOther)
            #expect(try await files.rows(app) == 2 && files.storedFiles(app).count == 2)
            let store = app.caseTalk.attachments
            #expect(try await Attachments.sweepUnnamed(store: store, now: clock.now.addingTimeInterval(3600), on: app.db) == 0,
                    "an hour is not a day")
            #expect(try await Attachments.sweepUnnamed(store: store, now: clock.now.addingTimeInterval(25 * 3600), on: app.db) == 1)
            #expect(try await files.rows(app) == 1 && files.storedFiles(app).count == 1)
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
            #expect(try await t.pat.get("/inbox/\(conversation)").body.string.contains("/files/\(sent)"))
            #expect([UInt8](try await t.pat.get("/files/\(sent)").body.readableBytesView) == Self.pdf, "the sent file stays")
            try await t.ben.get("/cases/\(t.caseID)/talk")
            #expect(try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Late."), .field("sent_ahead", waiting.uuidString),
            ]).status == .unprocessableEntity, "a swept file cannot be sent")
        }
    }
}
