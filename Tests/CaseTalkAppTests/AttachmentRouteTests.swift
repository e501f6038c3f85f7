@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Attach files on both message forms, and the files' one route (SPEC §8, issue 19): exactly the
/// two people who see a message see its files; a refused file keeps nothing; what goes out is
/// what was cleaned, with the headers that keep a browser from running it.
@Suite struct AttachmentRouteTests {
    /// A phone's photo (made with Pillow, 64×40): EXIF with GPS position, make, model, artist,
    /// orientation 6 and the capture time, and a JPEG comment.
    static let phonePhoto: [UInt8] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/phone-photo.jpg")
        return [UInt8](FileManager.default.contents(atPath: url.path) ?? Data())
    }()
    static let pdf = Array("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".utf8)
    static let secrets = ["PhoneMaker", "SecretModel", "Jane Owner", "a private comment"]

    func contains(_ bytes: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { Array(bytes[$0..<($0 + needle.count)]) == needle }
    }

    func rows(_ app: Application) async throws -> Int {
        struct Count: Decodable { let n: Int }
        return try await app.db.sql.raw("SELECT COUNT(*) AS n FROM attachments").first(decoding: Count.self)?.n ?? -1
    }

    /// Regular files in the store's folder (temporary ones included).
    func storedFiles(_ app: Application) -> [String] {
        guard case .folder(let path) = app.caseTalk.config.attachmentStore,
              let walker = FileManager.default.enumerator(atPath: path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { name in
            var folder: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &folder) && !folder.boolValue
        }
    }

    /// The ids of the files linked from a page, in order.
    func fileIDs(in page: String) -> [UUID] {
        var ids: [UUID] = []
        var rest = Substring(page)
        while let range = rest.range(of: "/files/") {
            let id = rest[range.upperBound...].prefix(36)
            if let uuid = UUID(uuidString: String(id)), !ids.contains(uuid) { ids.append(uuid) }
            rest = rest[range.upperBound...]
        }
        return ids
    }

    @Test func aPatientsPhotoReachesOnlyItsMemberCleanedAndTheRestGet404() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let world = t.registration.invitations.world
            #expect(Self.phonePhoto.count > 500 && contains(Self.phonePhoto, "PhoneMaker"), "the fixture is read")
            try await t.write("Please send a photo of the swelling.", as: t.ben)
            let conversation = try #require(try await t.conversation(of: world.ben)).requireID()

            try await t.pat.get("/inbox/\(conversation)")
            let sent = try await t.pat.postFiles("/uploads/inbox/\(conversation)", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Here it is."),
                .file("IMG_0042.jpg", Self.phonePhoto, type: "image/jpeg"),
            ])
            #expect(sent.status == .seeOther && sent.location == "/inbox/\(conversation)?sent=1", "\(sent.status) \(sent.body.string)")

            let talk = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(talk.contains("Here it is.") && talk.contains("IMG_0042.jpg") && talk.contains("JPEG image"))
            #expect(talk.contains("Photo taken Nov 30, 2026 at 2:05\u{202F}PM"), "the capture time is kept")
            let id = try #require(fileIDs(in: talk).first)
            #expect(try await t.pat.get("/inbox/\(conversation)").body.string.contains("/files/\(id)"), "the sender sees it too")

            for viewer in [t.ben, t.pat] {
                let file = try await viewer.get("/files/\(id)")
                #expect(file.status == .ok)
                #expect(file.headers.first(name: .contentType) == "image/jpeg")
                #expect(file.headers.first(name: "X-Content-Type-Options") == "nosniff")
                #expect(file.headers.first(name: .cacheControl) == "no-store")
                #expect(file.headers.first(name: "Content-Security-Policy")?.contains("sandbox") == true)
                #expect(file.headers.first(name: .contentDisposition)?.hasPrefix("inline;") == true, "a cleaned image is shown")
                let bytes = [UInt8](file.body.readableBytesView)
                #expect(bytes.starts(with: [0xFF, 0xD8]) && bytes.count < Self.phonePhoto.count)
                for secret in Self.secrets { #expect(!contains(bytes, secret), "\(secret) is gone") }
                #expect(!contains(bytes, "GPS") && bytes.firstRange(of: [0x88, 0x25]) == nil, "no GPS pointer")
                let download = try await viewer.get("/files/\(id)?download=1")
                #expect(download.headers.first(name: .contentDisposition) == "attachment; filename=\"IMG_0042.jpg\"; filename*=UTF-8''IMG_0042.jpg")
            }

            // A colleague on the case, the practice's admin, another patient and a visitor: 404, saying nothing.
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            for outsider in [t.cy, ada, t.quinn, Browser(app)] {
                let answer = try await outsider.get("/files/\(id)")
                #expect(answer.status == .notFound)
                #expect(!answer.body.string.contains("IMG_0042") && !contains([UInt8](answer.body.readableBytesView), "JFIF"))
                #expect(try await outsider.get("/files/\(id)?download=1").status == .notFound)
            }
            #expect(try await t.cy.get("/cases/\(t.caseID)/talk").body.string.contains("/files/") == false)
            #expect(try await t.ben.get("/files/\(UUID())").status == .notFound)
            #expect(try await t.ben.get("/files/not-an-id").status == .notFound)

            // Every upload, view and download is in the trail; the name never is.
            let actions = try await AuditEntry.query(on: app.db).all().map(\.action)
            #expect(actions.filter { $0 == AuditAction.attachmentUploaded.rawValue }.count == 1)
            #expect(actions.filter { $0 == AuditAction.attachmentViewed.rawValue }.count == 2)
            #expect(actions.filter { $0 == AuditAction.attachmentDownloaded.rawValue }.count == 2)
            #expect(try await AuditEntry.query(on: app.db).all().allSatisfy { !$0.subject.contains("IMG_0042") })
            // The store holds only ciphertext under random names.
            let stored = storedFiles(app)
            #expect(stored.count == 1 && !stored[0].contains("IMG"))
        }
    }

    @Test func aMembersPDFAloneDownloadsAndTheNotificationNamesNoFile() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let sent = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", ""),
                .file("Treatment plan (final).pdf", Self.pdf, type: "application/pdf"),
            ])
            #expect(sent.location == "/cases/\(t.caseID)/talk?done=message", "a message may be files alone: \(sent.body.string)")
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
            let thread = try await t.pat.get("/inbox/\(conversation)").body.string
            #expect(thread.contains("Treatment plan (final).pdf") && thread.contains("PDF document") && thread.contains(">Download<"))
            let id = try #require(fileIDs(in: thread).first)
            let file = try await t.pat.get("/files/\(id)")
            #expect(file.status == .ok && [UInt8](file.body.readableBytesView) == Self.pdf)
            #expect(file.headers.first(name: .contentType) == "application/pdf")
            #expect(file.headers.first(name: .contentDisposition)?.hasPrefix("attachment;") == true, "PDFs always download")
            #expect(file.headers.first(name: .contentDisposition)?.hasSuffix("UTF-8''Treatment%20plan%20%28final%29.pdf") == true)
            try await t.registration.invitations.fx.deliver()
            for mail in t.registration.invitations.mailer.sent {
                #expect(!mail.text.contains("Treatment") && !mail.html.contains("Treatment"))
            }
        }
    }

    @Test func aRefusedFileKeepsNothingButTheTypedMessage() async throws {
        try await withCaseTalk(adjust: { $0.attachmentMaxStaffMB = 1 }) { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let html = Array("<html><script>alert(1)</script></html>".utf8)
            let svg = Array("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".utf8)
            let cases: [(parts: [FormPart], message: String)] = [
                ([.file("photo.jpg", html, type: "image/jpeg")],
                 "photo.jpg: This type of file can't be sent. You can send photos (JPEG, PNG, HEIC, WebP), PDF documents, TIFF, BMP and DICOM."),
                ([.file("drawing.svg", svg, type: "image/svg+xml")], "drawing.svg: This type of file can't be sent."),
                ([.file("empty.pdf", [], type: "application/pdf")], "empty.pdf: This file is empty or damaged."),
                ([.file("scan.pdf", Self.pdf + [UInt8](repeating: 0x20, count: 1_000_001), type: "application/pdf")],
                 "scan.pdf: This file is 1.1 MB; the limit is 1 MB."),
                ([.file("ok.pdf", Self.pdf, type: "application/pdf"), .file("cut.jpg", Array(Self.phonePhoto.prefix(300)), type: "image/jpeg")],
                 "cut.jpg: This file is empty or damaged."),
                ((0..<21).map { .file("plan\($0).pdf", Self.pdf, type: "application/pdf") }, "You can attach at most 20 files to one message."),
            ]
            for (parts, message) in cases {
                try await t.ben.get("/cases/\(t.caseID)/talk")
                let answer = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk",
                                                       [.field("idempotency_key", SecureRandom.token()), .field("body", "Typed with care.")] + parts)
                #expect(answer.status == .unprocessableEntity, "\(message)")
                #expect(answer.body.string.contains(message.replacingOccurrences(of: "'", with: "&#39;")), "\(message)")
                #expect(answer.body.string.contains(">Typed with care.</textarea>"), "the typed message is kept")
                #expect(try await rows(app) == 0)
                #expect(storedFiles(app).isEmpty, "\(message): \(storedFiles(app))")
            }
            #expect(try await t.conversation(of: t.registration.invitations.world.ben) == nil, "no message was sent")
        }
    }

    @Test func aFormWithFilesProvesItsOriginBeforeAnythingIsStored() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Hello.", as: t.ben)
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
            try await t.pat.get("/inbox/\(conversation)")
            let file = FormPart.file("plan.pdf", Self.pdf, type: "application/pdf")
            let path = "/uploads/inbox/\(conversation)"
            #expect(try await t.pat.postFiles(path, [.field("body", "x"), file], csrf: .some(nil)).status == .forbidden)
            #expect(try await t.pat.postFiles(path, [.field("body", "x"), file], csrf: "wrong").status == .forbidden)
            #expect(try await t.pat.postFiles(path, [.field("body", "x"), file], csrfLast: true).status == .forbidden,
                    "a token after the files comes too late")
            #expect(try await rows(app) == 0 && storedFiles(app).isEmpty)
            // Quinn cannot post into Pat's conversation, and a member cannot post into a case he is not on.
            try await t.quinn.get("/inbox")
            #expect(try await t.quinn.postFiles(path, [.field("body", "x"), file]).status == .notFound)
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            try await ada.get("/cases")
            #expect(try await ada.postFiles("/uploads/cases/\(t.caseID)/talk", [.field("body", "x"), file]).status == .notFound)
            #expect(try await rows(app) == 0 && storedFiles(app).isEmpty)
            // A malformed body is refused plainly.
            let cut = Array(Browser.multipart([.field("_csrf", t.pat.csrf ?? ""), file]).dropLast(40))
            #expect(try await t.pat.postFiles(path, body: cut).status == .badRequest)
            #expect(try await rows(app) == 0 && storedFiles(app).isEmpty)
        }
    }

    @Test func theSameSendRetriedStoresItsFilesOnce() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let key = SecureRandom.token()
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let parts: [FormPart] = [.field("idempotency_key", key), .field("body", "Plan attached."),
                                     .file("plan.pdf", Self.pdf, type: "application/pdf")]
            #expect(try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", parts).status == .seeOther)
            // The page's background send (app.js) is told where to go instead of being redirected.
            let background = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", parts, extraHeaders: ["X-CaseTalk-Upload": "1"])
            #expect(background.status == .noContent)
            #expect(background.headers.first(name: "X-CaseTalk-Location") == "/cases/\(t.caseID)/talk?done=message")
            #expect(try await rows(app) == 1)
            #expect(storedFiles(app).count == 1, "the retry's copy was removed")
            #expect(try await Message.query(on: app.db).count() == 1)
        }
    }

    @Test func filesNoRowNamesAreSweptAfterADayAndTheRestStay() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.ben.get("/cases/\(t.caseID)/talk")
            #expect(try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Plan."), .file("plan.pdf", Self.pdf, type: "application/pdf"),
            ]).status == .seeOther)
            let store = app.caseTalk.attachments
            let oldStray = StoreKey(), newStray = StoreKey()
            for key in [oldStray, newStray] {
                _ = try await store.put(key, AsyncThrowingStream { $0.yield([1, 2, 3]); $0.finish() })
            }
            guard case .folder(let root) = app.caseTalk.config.attachmentStore else { Issue.record("a folder store"); return }
            let dayAgo = Date().addingTimeInterval(-25 * 3600)
            for name in storedFiles(app) where !name.hasSuffix(newStray.value) {
                try FileManager.default.setAttributes([.modificationDate: dayAgo], ofItemAtPath: root + "/" + name)
            }
            #expect(storedFiles(app).count == 3)
            #expect(try await Attachments.sweepUnnamed(store: store, now: Date(), on: app.db) == 1)
            let left = storedFiles(app)
            #expect(left.count == 2 && !left.contains { $0.hasSuffix(oldStray.value) } && left.contains { $0.hasSuffix(newStray.value) })
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
            let id = try #require(fileIDs(in: try await t.pat.get("/inbox/\(conversation)").body.string).first)
            #expect([UInt8](try await t.pat.get("/files/\(id)").body.readableBytesView) == Self.pdf, "the sent file stays")
        }
    }

    @Test func aPatientSendsAtMost30FilesIn24Hours() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Send what you have.", as: t.ben)
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
            func send(_ count: Int) async throws -> TestingHTTPResponse {
                try await t.pat.get("/inbox/\(conversation)")
                return try await t.pat.postFiles("/uploads/inbox/\(conversation)", [.field("idempotency_key", SecureRandom.token()),
                    .field("body", "Photos.")] + (0..<count).map { .file("p\($0).pdf", Self.pdf, type: "application/pdf") })
            }
            for _ in 0..<3 { #expect(try await send(10).status == .seeOther) }
            let refused = try await send(1)
            #expect(refused.status == .unprocessableEntity)
            #expect(refused.body.string.contains("You can send at most 30 files in 24 hours."))
            #expect(try await rows(app) == 30 && storedFiles(app).count == 30)
            #expect(try await send(0).status == .seeOther, "words alone are not counted")
            clock.advance(by: 24 * 3600 + 1)
            try await t.pat.signIn("pat@example.com", password: RegistrationWorld.password)
            #expect(try await send(1).location == "/inbox/\(conversation)?sent=1", "a new day")
            #expect(try await rows(app) == 31)
        }
    }

    @Test func parallelSendsCannotPassTheDailyLimitTogether() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let patient = try #require(try await Patient.query(on: app.db).filter(\.$email == "pat@example.com").first()).requireID()
            let now = clock.now
            let passed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await PatientFileAllowancesTable.take(10, patientID: patient, limit: 30, window: 24 * 3600, now: now, on: app.db)
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(passed == 3)
            _ = t
        }
    }

    @Test func theAttachmentsTabShowsOnlyTheMembersOwnPatientTalkFiles() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            for (member, name, bytes, type) in [(t.ben, "b-plan.pdf", Self.pdf, "application/pdf"), (t.ben, "a-photo.jpg", Self.phonePhoto, "image/jpeg"),
                                                (t.cy, "cy-referral.pdf", Self.pdf, "application/pdf")] {
                try await member.get("/cases/\(t.caseID)/talk")
                #expect(try await member.postFiles("/uploads/cases/\(t.caseID)/talk", [.field("idempotency_key", SecureRandom.token()),
                    .field("body", ""), .file(name, bytes, type: type)]).status == .seeOther)
                clock.advance(by: 60)
            }
            let tab = try await t.ben.get("/cases/\(t.caseID)/attachments")
            #expect(tab.status == .ok)
            let page = tab.body.string
            #expect(page.contains("aria-current=\"page\" class=\"tab tab-current\">Attachments</a>"))
            #expect(page.contains("b-plan.pdf") && page.contains("a-photo.jpg") && !page.contains("cy-referral"), "never a colleague's")
            #expect(page.range(of: "a-photo.jpg")!.lowerBound < page.range(of: "b-plan.pdf")!.lowerBound, "newest first")
            let byName = try await t.ben.get("/cases/\(t.caseID)/attachments?sort=name").body.string
            #expect(byName.range(of: "a-photo.jpg")!.lowerBound < byName.range(of: "b-plan.pdf")!.lowerBound)
            let images = try await t.ben.get("/cases/\(t.caseID)/attachments?show=images").body.string
            #expect(images.contains("a-photo.jpg") && !images.contains("b-plan.pdf"))
            let documents = try await t.ben.get("/cases/\(t.caseID)/attachments?show=documents").body.string
            #expect(!documents.contains("a-photo.jpg") && documents.contains("b-plan.pdf"))

            // Full screen, with Previous and Next in the same order and Download.
            let ids = page.components(separatedBy: "/cases/\(t.caseID)/attachments/").dropFirst().compactMap { UUID(uuidString: String($0.prefix(36))) }
            #expect(ids.count == 2)
            let first = try await t.ben.get("/cases/\(t.caseID)/attachments/\(ids[0])").body.string
            #expect(first.contains("1 of 2") && first.contains("rel=\"next\"") && !first.contains("rel=\"prev\""))
            #expect(first.contains("/files/\(ids[0])?download=1") && first.contains(">Download</a>"))
            let second = try await t.ben.get("/cases/\(t.caseID)/attachments/\(ids[1])").body.string
            #expect(second.contains("2 of 2") && second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""))

            // Cy sees his own file only, and Ben's files are not his to open, here or at /files.
            let cys = try await t.cy.get("/cases/\(t.caseID)/attachments").body.string
            #expect(cys.contains("cy-referral.pdf") && !cys.contains("b-plan.pdf") && !cys.contains("a-photo"))
            for id in ids {
                #expect(try await t.cy.get("/cases/\(t.caseID)/attachments/\(id)").status == .notFound)
            }
            // Not on the case (the practice's admin), a patient, a visitor.
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            #expect(try await ada.get("/cases/\(t.caseID)/attachments").status == .notFound)
            #expect(try await ada.get("/cases/\(t.caseID)/attachments/\(ids[0])").status == .notFound)
            #expect(try await t.pat.get("/cases/\(t.caseID)/attachments").status == .seeOther)
            #expect(try await Browser(app).get("/cases/\(t.caseID)/attachments").status == .seeOther)
        }
    }
}
