@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Ben's case with Cy (another practice) as a second member, its patient Pat registered, and
/// Quinn, a patient of another case.
struct TalkWorld {
    let registration: RegistrationWorld
    let caseID: UUID
    let ben: Browser
    let cy: Browser
    let pat: Browser
    let quinn: Browser
    var app: Application { registration.app }

    static func make(_ app: Application, _ clock: TestClock) async throws -> TalkWorld {
        let w = try await RegistrationWorld.make(app, clock)
        let caseID = w.invitations.caseID
        let ben = w.invitations.ben
        try await ben.get("/cases/\(caseID)")
        try await ben.post("/cases/\(caseID)/members", [("staff_id", w.invitations.world.cy.uuidString)])
        try await w.verifyAndAccept()
        try await w.setPassword()
        let pat = Browser(app)
        // Pat's own phone: the code once, and the browser remembered (SPEC §5).
        try await pat.signIn("pat@example.com", password: RegistrationWorld.password, remember: true)

        // Quinn: a patient of Ben's second case.
        let (_, secondCase) = try await w.invitations.world.caseByBen(title: "Whitening")
        try await ben.get("/cases/\(secondCase)/invite")
        try await ben.post("/cases/\(secondCase)/invite", [("email", "quinn@example.com"), ("confirm_email", "quinn@example.com")])
        try await w.invitations.fx.deliver()
        let quinnRegistration = Browser(app)
        try await w.invitations.open(try #require(w.invitations.mailer.tokens.last), in: quinnRegistration)
        let q = RegistrationWorld(invitations: w.invitations, clock: clock, phones: w.phones, patient: quinnRegistration, email: "quinn@example.com")
        try await q.answerBirthDate()
        try await q.savePhones(mobile: "(212) 555-0144")
        clock.advance(by: 31)
        try await q.sendCode()
        try await q.enter(try #require(w.phones.lastCode))
        try await q.acceptTerms()
        try await q.setPassword()
        let quinn = Browser(app)
        try await quinn.signIn("quinn@example.com", password: RegistrationWorld.password)

        let cy = Browser(app)
        try await cy.signIn("cy@northside.example")
        return TalkWorld(registration: w, caseID: caseID, ben: ben, cy: cy, pat: pat, quinn: quinn)
    }

    @discardableResult
    func write(_ text: String, as member: Browser) async throws -> TestingHTTPResponse {
        try await member.get("/cases/\(caseID)/talk")
        return try await member.post("/cases/\(caseID)/talk", [("body", text)])
    }

    func conversation(of memberID: UUID) async throws -> Conversation? {
        try await Conversation.query(on: app.db).filter(\.$caseID == caseID).filter(\.$memberID == memberID).first()
    }
}

@Suite struct MessagingTests {
    @Test func aMessageReachesOnlyItsPatientAndTheReplyOnlyItsMember() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let sent = try await t.write("Your crown is ready.\nPlease call us.", as: t.ben)
            #expect(sent.location == "/cases/\(t.caseID)/talk?done=message")
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben))

            let home = try await t.pat.get("/portal")
            #expect(home.body.string.contains("1 unread"))
            let inbox = try await t.pat.get("/inbox")
            #expect(inbox.body.string.contains("Dr. Ben Stone") && inbox.body.string.contains("Riverside Dental"))
            #expect(inbox.body.string.contains("Crown on 14"))
            let thread = try await t.pat.get("/inbox/\(conversation.id!)")
            #expect(thread.status == .ok)
            #expect(thread.body.string.contains("Your crown is ready.\nPlease call us."))
            #expect(try await t.ben.get("/cases/\(t.caseID)/talk").body.string.contains("Read "), "the member sees it was read")

            let reply = try await t.pat.post("/inbox/\(conversation.id!)", [("body", "Thanks, <b>calling</b> tomorrow.")])
            #expect(reply.location == "/inbox/\(conversation.id!)?sent=1")
            let benTalk = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(benTalk.contains("Thanks, &lt;b&gt;calling&lt;/b&gt; tomorrow."), "shown as text, never as HTML")

            // Cy is on the same case: his Patient Talk is his own, and empty.
            let cyTalk = try await t.cy.get("/cases/\(t.caseID)/talk")
            #expect(cyTalk.status == .ok)
            #expect(!cyTalk.body.string.contains("crown is ready") && !cyTalk.body.string.contains("calling"))
            #expect(cyTalk.body.string.contains("No messages yet."))
            #expect(try await t.conversation(of: t.registration.invitations.world.cy) == nil)
        }
    }

    /// SPEC §2: messages written before the patient registers wait for them, in the Secure Inbox
    /// and in the thread, and in nobody else's.
    @Test func messagesWrittenBeforeThePatientRegistersWaitInTheirSecureInbox() async throws {
        try await withCaseTalk { app, clock in
            let w = try await RegistrationWorld.make(app, clock)
            let caseID = w.invitations.caseID, ben = w.invitations.ben
            try await ben.get("/cases/\(caseID)/talk")
            try await ben.post("/cases/\(caseID)/talk", [("body", "Waiting for you: unique-early-4410")])
            let conversation = try #require(try await Conversation.query(on: app.db).filter(\.$caseID == caseID).first())
            #expect(conversation.patientID == nil, "no patient yet")

            try await w.verifyAndAccept()
            try await w.setPassword()
            let pat = Browser(app)
            try await pat.signIn("pat@example.com", password: RegistrationWorld.password)
            let id = try conversation.requireID()
            let inbox = try await pat.get("/inbox").body.string
            #expect(inbox.contains("Dr. Ben Stone") && inbox.contains("/inbox/\(id)"))
            #expect(try await pat.get("/inbox/\(id)").body.string.contains("unique-early-4410"))

            // Ben's next case has another patient, who has not registered: nothing of Pat's reaches it.
            let (_, other) = try await w.invitations.world.caseByBen(title: "Implant")
            try await ben.get("/cases/\(other)/talk")
            try await ben.post("/cases/\(other)/talk", [("body", "For someone else: unique-other-5521")])
            let after = try await pat.get("/inbox").body.string
            #expect(!after.contains("Implant") && after.components(separatedBy: "/inbox/").count == inbox.components(separatedBy: "/inbox/").count)
        }
    }

    /// The privacy rule (SPEC §1) for the routes that read and write conversations: only Ben and
    /// Pat reach Ben's conversation; everyone else gets 404, or the sign-in page when signed out.
    @Test func onlyTheMemberAndThePatientReachAConversation() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Private note for Pat.", as: t.ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            let world = t.registration.invitations.world

            #expect(try await t.pat.get("/inbox/\(id)").status == .ok)
            // Another patient, forged and malformed ids.
            #expect(try await t.quinn.get("/inbox/\(id)").status == .notFound)
            try await t.quinn.get("/inbox")
            #expect(try await t.quinn.post("/inbox/\(id)", [("body", "hello")]).status == .notFound)
            #expect(!(try await t.quinn.get("/inbox").body.string.contains("Dr. Ben Stone")))
            #expect(try await t.pat.get("/inbox/\(UUID())").status == .notFound)
            #expect(try await t.pat.get("/inbox/not-an-id").status == .notFound)
            // A patient cannot start a conversation: Cy has not written, so there is none to answer.
            #expect(try await Conversation.query(on: app.db).count() == 1)

            // Staff are not patients: the inbox sends them to sign in; nobody signed out gets in.
            #expect(try await t.ben.get("/inbox/\(id)").location?.hasPrefix("/login") == true)
            #expect(try await Browser(app).get("/inbox/\(id)").location?.hasPrefix("/login") == true)

            // The practice admin and a staff member of Ben's practice are not on the case.
            for email in ["ada@riverside.example", "dee@riverside.example"] {
                let outsider = Browser(app)
                try await outsider.signIn(email)
                #expect(try await outsider.get("/cases/\(t.caseID)/talk").status == .notFound, "\(email)")
                try await outsider.get("/cases")
                #expect(try await outsider.post("/cases/\(t.caseID)/talk", [("body", "hi")]).status == .notFound, "\(email)")
            }
            _ = world
            let messages = try await Message.query(on: app.db).count()
            #expect(messages == 1, "nothing was added by the refused requests")
        }
    }

    /// The privacy matrix (SPEC §1): member A (Ben) and member B (Cy) of the same case each have
    /// a conversation with patient P (Pat). For every person and every route that lists, reads,
    /// counts or writes conversations: only A and P see A's conversation, only B and P see B's;
    /// everyone else gets 404, or the sign-in page when signed out. Forged ids in forms are ignored.
    @Test func thePrivacyMatrix() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let world = t.registration.invitations.world
            let (a1, a2, b1) = ("matrix-ben-4417", "matrix-pat-9021", "matrix-cy-3385")
            try await t.write(a1, as: t.ben)
            try await t.write(b1, as: t.cy)
            let aID = try #require(try await t.conversation(of: world.ben)?.id)
            let bID = try #require(try await t.conversation(of: world.cy)?.id)
            try await t.pat.get("/inbox/\(aID)")
            try await t.pat.post("/inbox/\(aID)", [("body", a2)])

            // Eve is a member of another case only (Quinn's), from another practice.
            let fx = Fixtures(app: app)
            let northside = try #require(try await StaffUser.find(world.cy, on: app.db)).$practice.id
            let eveID = try await fx.staff("eve@northside.example", name: "Dr. Eve Lind", practice: northside)
            let quinnCase = try #require(try await CasePatient.query(on: app.db).filter(\.$id != t.caseID).first()?.id)
            try await t.ben.get("/cases/\(quinnCase)")
            try await t.ben.post("/cases/\(quinnCase)/members", [("staff_id", eveID.uuidString)])
            let eve = Browser(app)
            try await eve.signIn("eve@northside.example")
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            let anonymous = Browser(app)
            try await anonymous.get("/login")

            let talk = "/cases/\(t.caseID)/talk"
            func page(_ browser: Browser, _ path: String) async throws -> (HTTPStatus, String, String?) {
                let response = try await browser.get(path)
                return (response.status, response.body.string, response.location)
            }
            func sees(_ html: String) -> Set<String> { Set([a1, a2, b1].filter { html.contains($0) }) }

            // Staff routes: the case's Patient Talk, and View Cases.
            var (status, html, location) = try await page(t.ben, talk)
            #expect(status == .ok && sees(html) == [a1, a2], "A sees A's conversation only")
            (status, html, location) = try await page(t.cy, talk)
            #expect(status == .ok && sees(html) == [b1], "B sees B's conversation only")
            for (name, browser) in [("other case's member", eve), ("practice admin", ada)] {
                (status, html, _) = try await page(browser, talk)
                #expect(status == .notFound && sees(html).isEmpty, "\(name): talk")
                (status, html, _) = try await page(browser, "/cases")
                #expect(!html.contains(t.caseID.uuidString), "\(name): View Cases does not list the case")
                #expect(try await browser.post(talk, [("body", "intrusion")]).status == .notFound, "\(name): write")
            }
            for (name, browser) in [("P", t.pat), ("Q", t.quinn)] {
                (status, _, location) = try await page(browser, talk)
                #expect(location?.hasPrefix("/") == true && status != .ok, "\(name) is not staff")
            }
            (status, _, location) = try await page(anonymous, talk)
            #expect(location?.hasPrefix("/login") == true, "anonymous: talk")
            #expect(try await anonymous.post(talk, [("body", "intrusion")]).location?.hasPrefix("/login") == true, "anonymous: write")

            // Patient routes: the inbox list, each thread, replies, and the dashboard's count.
            (status, html, _) = try await page(t.pat, "/inbox")
            #expect(html.contains("Dr. Ben Stone") && html.contains("Dr. Cy Moreau"), "P lists both of P's conversations")
            (_, html, _) = try await page(t.pat, "/portal")
            #expect(html.contains("1 unread"), "P's count: B's note")
            (status, html, _) = try await page(t.pat, "/inbox/\(aID)")
            #expect(status == .ok && sees(html) == [a1, a2])
            (status, html, _) = try await page(t.pat, "/inbox/\(bID)")
            #expect(status == .ok && sees(html) == [b1])
            (status, html, _) = try await page(t.quinn, "/inbox")
            #expect(!html.contains("Dr. Ben Stone") && !html.contains("Dr. Cy Moreau"), "Q lists neither")
            (_, html, _) = try await page(t.quinn, "/portal")
            #expect(!html.contains("1 unread") && !html.contains("2 unread"), "Q's count is Q's own")

            for id in [aID, bID] {
                for path in ["/inbox/\(id)", "/inbox/\(id)?page=2"] {
                    (status, html, _) = try await page(t.quinn, path)
                    #expect(status == .notFound && sees(html).isEmpty, "Q: \(path)")
                }
                #expect(try await t.quinn.post("/inbox/\(id)", [("body", "intrusion")]).status == .notFound, "Q: reply")
                for (name, browser) in [("A", t.ben), ("B", t.cy), ("admin", ada), ("anonymous", anonymous)] {
                    (status, html, location) = try await page(browser, "/inbox/\(id)")
                    #expect(location?.hasPrefix("/login") == true && sees(html).isEmpty, "\(name): /inbox/\(id)")
                }
            }

            // Forged ids in forms change nothing about where a message lands.
            try await t.pat.get("/inbox/\(aID)")
            try await t.pat.post("/inbox/\(aID)", [("body", "forged reply"), ("conversation_id", bID.uuidString),
                                                    ("member_id", world.cy.uuidString), ("case_id", quinnCase.uuidString)])
            try await t.cy.get(talk)
            try await t.cy.post(talk, [("body", "forged note"), ("member_id", world.ben.uuidString),
                                       ("conversation_id", aID.uuidString)])
            struct Count: Decodable { let conversation_id: UUID; let n: Int }
            let counts = try await app.db.sql.raw("SELECT conversation_id, CAST(COUNT(*) AS INTEGER) AS n FROM messages GROUP BY conversation_id")
                .all(decoding: Count.self)
            let byConversation = Dictionary(uniqueKeysWithValues: counts.map { ($0.conversation_id, $0.n) })
            #expect(byConversation == [aID: 3, bID: 2], "A: note, reply, forged reply; B: note, forged note; nothing refused was stored")
        }
    }

    /// A send retried with the same form key (a lost answer, a double click) is stored once, also
    /// when the copies arrive together; a new form (a new key) is a new message.
    @Test func aRetriedSendIsStoredOnce() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let page = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            let key = try #require(Browser.firstMatch(in: page, after: "name=\"idempotency_key\" value=\""))
            #expect(SecureRandom.isTokenShaped(key))
            for _ in 0..<2 {
                #expect(try await t.ben.post("/cases/\(t.caseID)/talk", [("body", "Once only."), ("idempotency_key", key)]).location
                        == "/cases/\(t.caseID)/talk?done=message", "the retry answers as the first did")
            }
            #expect(try await Message.query(on: app.db).count() == 1)
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben))
            #expect(conversation.messageCount == 1 && conversation.patientUnread == 1)

            // Ten copies of the patient's reply at once.
            let id = try conversation.requireID()
            let thread = try await t.pat.get("/inbox/\(id)").body.string
            let replyKey = try #require(Browser.firstMatch(in: thread, after: "name=\"idempotency_key\" value=\""))
            let cookie = try #require(t.pat.sessionCookie), csrf = try #require(t.pat.csrf)
            let answers = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let copy = Browser(app)
                        copy.useCookie(cookie)
                        return try await copy.post("/inbox/\(id)", [("body", "Reply once."), ("idempotency_key", replyKey)], csrf: csrf).location
                    }
                }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0 == "/inbox/\(id)?sent=1" }, "\(answers)")
            #expect(try await Message.query(on: app.db).filter(\.$author == .patient).count() == 1)
            #expect(try await Conversation.find(id, on: app.db)?.messageCount == 2)

            // A new form, a new key: a new message. A made-up key shape is ignored, not trusted.
            let next = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            let newKey = try #require(Browser.firstMatch(in: next, after: "name=\"idempotency_key\" value=\""))
            #expect(newKey != key)
            try await t.ben.post("/cases/\(t.caseID)/talk", [("body", "Once only."), ("idempotency_key", newKey)])
            try await t.ben.post("/cases/\(t.caseID)/talk", [("body", "x"), ("idempotency_key", "short")])
            try await t.ben.post("/cases/\(t.caseID)/talk", [("body", "x"), ("idempotency_key", "short")])
            #expect(try await Message.query(on: app.db).filter(\.$author == .member).count() == 4)
        }
    }

    @Test func messageBodiesAreSealedAtRest() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let text = "Biopsy result: benign, unique-marker-8271"
            try await t.write(text, as: t.ben)
            struct Row: Decodable { let id: UUID; let conversation_id: UUID; let key_id: String; let body_sealed: String }
            let row = try #require(try await app.db.sql.select().columns("id", "conversation_id", "key_id", "body_sealed").from("messages")
                .first(decoding: Row.self))
            #expect(row.key_id == app.caseTalk.sealer.currentKeyID && row.body_sealed.hasPrefix(row.key_id + ":"))
            #expect(!row.body_sealed.contains("unique-marker-8271") && !row.body_sealed.contains("Biopsy"))
            let sealer = app.caseTalk.sealer
            let bound = MessageSeal.context(messageID: row.id, conversationID: row.conversation_id, author: "member")
            #expect(String(decoding: try sealer.open(row.body_sealed, context: bound), as: UTF8.self) == text)
            // Review L7: bound to its row, its conversation and the side that wrote it.
            for moved in [MessageSeal.context(messageID: UUID(), conversationID: row.conversation_id, author: "member"),
                          MessageSeal.context(messageID: row.id, conversationID: UUID(), author: "member"),
                          MessageSeal.context(messageID: row.id, conversationID: row.conversation_id, author: "patient"),
                          row.id.uuidString] {
                #expect(throws: (any Error).self) { try sealer.open(row.body_sealed, context: moved) }
            }
            // Nowhere else either: not in the audit trail, the outbox or any other text column.
            let audit = try await AuditEntry.query(on: app.db).all().map(\.subject).joined()
            #expect(!audit.contains("unique-marker-8271"))
        }
    }

    /// `casetalk keys rotate` (review L7): after a new CASETALK_DATA_KEY with the old one kept in
    /// CASETALK_PREVIOUS_DATA_KEYS, messages sealed under either open; re-sealing leaves nothing
    /// under the old key, which can then be dropped. A body sealed before keys had ids (`k1`,
    /// bound to its id alone) is re-sealed with its full binding.
    @Test func theDataKeyRotatesAndOldMessagesStillOpen() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Sealed under the first key.", as: t.ben)
            // A file whose key and name are sealed under the first key.
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let pdf = Array("%PDF-1.7\nkept through the rotation\n".utf8)
            #expect(try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [.field("body", "With a file."),
                .file("plan.pdf", pdf, type: "application/pdf")]).status == .seeOther)
            let first = app.caseTalk.config.dataKey, second = SecureRandom.bytes(32)
            app.caseTalk.sealer = Sealer(key: second, previous: [first])
            try await t.write("Sealed under the second key.", as: t.ben)
            struct Row: Decodable { let id: UUID; let key_id: String; let body_sealed: String }
            func rows() async throws -> [Row] {
                try await app.db.sql.raw("SELECT id, key_id, body_sealed FROM messages ORDER BY created_at").all(decoding: Row.self)
            }
            #expect(try await rows().map(\.key_id) == [Sealer.keyID(of: first), Sealer.keyID(of: first), Sealer.keyID(of: second)])
            var page = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(page.contains("Sealed under the first key.") && page.contains("Sealed under the second key."))

            // A third message as it was stored before key ids.
            try await t.write("Sealed before key ids.", as: t.ben)
            let legacy = try #require(try await rows().last)
            let legacyBody = "k1:" + (try Sealer(key: second).seal(Array("Sealed before key ids.".utf8), context: legacy.id.uuidString)
                .split(separator: ":", maxSplits: 1)[1])
            try await app.db.sql.raw("UPDATE messages SET body_sealed = \(bind: legacyBody), key_id = 'k1' WHERE id = \(bind: legacy.id)").run()

            let counts = try await SealedData.resealAll(with: app.caseTalk.sealer, on: app.db)
            #expect(counts.messages == 3 && counts.twoStepKeys > 0 && counts.outbox > 0, "\(counts)")
            #expect(counts.attachmentKeys == 1 && counts.attachmentNames == 1, "\(counts)")
            #expect(try await rows().allSatisfy { $0.key_id == Sealer.keyID(of: second) && $0.body_sealed.hasPrefix($0.key_id + ":") })
            #expect(try await SealedData.resealAll(with: app.caseTalk.sealer, on: app.db).total == 0, "nothing left to do")

            app.caseTalk.sealer = Sealer(key: second)   // the first key dropped
            page = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            for text in ["Sealed under the first key.", "Sealed under the second key.", "Sealed before key ids."] {
                #expect(page.contains(text), "\(text)")
            }
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
            let thread = try await t.pat.get("/inbox/\(conversation)").body.string
            #expect(thread.contains("plan.pdf"), "the file's name opens under the new key")
            let fileID = try #require(thread.range(of: "/files/").map { String(thread[$0.upperBound...].prefix(36)) })
            #expect([UInt8](try await t.pat.get("/files/\(fileID)?download=1").body.readableBytesView) == pdf, "and its key")
            #expect(try await fx(app).deliver() >= 0, "queued emails re-sealed too still go out")
            #expect(try await Browser(app).signIn("cy@northside.example").location == "/cases", "two-step keys re-sealed still open")
        }
    }

    private func fx(_ app: Application) -> Fixtures { Fixtures(app: app) }

    /// The embedded default keeps everything in one SQLite file (and its write-ahead log): neither
    /// holds a message's text, the member's or the patient's.
    @Test func theDatabaseFileDoesNotContainMessageText() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("casetalk-at-rest-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/casetalk.sqlite"
        let markers = ["unique-member-words-5512", "unique-patient-words-7340"]
        try await withCaseTalk(database: .sqliteFile(path: path)) { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Your scan shows \(markers[0]).", as: t.ben)
            let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben))
            try await t.pat.get("/inbox/\(try conversation.requireID())")
            try await t.pat.post("/inbox/\(try conversation.requireID())", [("body", "Thanks: \(markers[1]).")])
            try await t.registration.invitations.fx.deliver()
            #expect(try await Message.query(on: app.db).count() == 2)
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("casetalk.sqlite") }
            #expect(files.contains("casetalk.sqlite"))
            var bytes = Data()
            for file in files { bytes.append(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))) }
            #expect(bytes.count > 10_000, "the file holds the database")
            #expect(bytes.range(of: Data("pat@example.com".utf8)) != nil, "what is not sealed is readable in the file")
            for marker in markers {
                #expect(bytes.range(of: Data(marker.utf8)) == nil, "\(marker) is in the database file")
            }
        }
    }

    @Test func badMessagesAreExplainedAndStoreNothing() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            for (body, message) in [("   ", "Enter the message."), (String(repeating: "a", count: 5001), "at most 5000 characters"),
                                    ("bidi \u{202E}txt", "not allowed")] {
                let response = try await t.write(body, as: t.ben)
                #expect(response.status == .unprocessableEntity)
                #expect(response.body.string.contains(message))
            }
            #expect(try await Message.query(on: app.db).count() == 0)
        }
    }

    @Test func notificationsCarryALinkOnlyAndComeAtMostEveryFifteenMinutes() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let mailer = t.registration.invitations.mailer
            let fx = t.registration.invitations.fx
            try await fx.deliver()
            let before = mailer.sent.count
            try await t.write("Your biopsy came back clear.", as: t.ben)
            clock.advance(by: 60)
            try await t.write("Second note about the crown.", as: t.ben)
            try await fx.deliver()
            let toPat = mailer.sent.dropFirst(before).filter { $0.to == "pat@example.com" }
            #expect(toPat.count == 1, "one notification per 15 minutes")
            let email = try #require(toPat.first)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            #expect(email.subject == "You have a new secure message from Riverside Dental")
            #expect(email.text.contains("/inbox/\(id)"))
            for secret in ["biopsy", "clear", "crown", "Crown on 14", "Ana", "Silva"] {
                #expect(!email.text.contains(secret) && !email.html.contains(secret), "no \(secret) in the email")
            }

            clock.advance(by: 15 * 60)
            // Fifteen idle minutes end sessions too: both sign in again.
            try await t.ben.signIn("ben@riverside.example")
            try await t.pat.signIn("pat@example.com", password: RegistrationWorld.password)
            try await t.write("Third.", as: t.ben)
            try await fx.deliver()
            #expect(mailer.sent.dropFirst(before).filter { $0.to == "pat@example.com" }.count == 2)

            try await t.pat.get("/inbox/\(id)")
            try await t.pat.post("/inbox/\(id)", [("body", "Thank you, the pain is gone.")])
            try await fx.deliver()
            let toBen = try #require(mailer.sent.dropFirst(before).last { $0.to == "ben@riverside.example" })
            #expect(toBen.text.contains("/cases/\(t.caseID)/talk"))
            #expect(!toBen.text.contains("pain") && !toBen.html.contains("pain"))
            #expect(mailer.sent.dropFirst(before).filter { $0.to == "cy@northside.example" }.isEmpty, "only that member")
        }
    }

    @Test func viewCasesCountsOnlyTheMembersOwnUnreadReplies() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("How is the crown?", as: t.ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            try await t.pat.get("/inbox/\(id)")
            try await t.pat.post("/inbox/\(id)", [("body", "Fine.")])
            try await t.pat.get("/inbox/\(id)")
            try await t.pat.post("/inbox/\(id)", [("body", "Really fine.")])
            func unreadCell(_ browser: Browser) async throws -> String {
                let html = try await browser.get("/cases").body.string
                guard let row = html.range(of: "Crown on 14") else { return "" }
                let rest = html[row.upperBound...]
                return String(rest[rest.range(of: "Unread replies\">")!.upperBound...].prefix(60))
            }
            #expect(try await unreadCell(t.ben).hasPrefix("<span class=\"badge\">2</span>"))
            #expect(try await unreadCell(t.cy).hasPrefix("<span class=\"muted\">0</span>"), "a colleague sees nothing of it")
            try await t.ben.get("/cases/\(t.caseID)/talk")
            #expect(try await unreadCell(t.ben).hasPrefix("<span class=\"muted\">0</span>"), "opening the talk reads them")
        }
    }

    /// SPEC §4: nothing is sent for a message already read. Read before the outbox got to it, the
    /// notification is dropped, and the next message notifies at once.
    @Test func noNotificationForAMessageReadBeforeItWentOut() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let mailer = t.registration.invitations.mailer
            let fx = t.registration.invitations.fx
            try await fx.deliver()
            let before = mailer.sent.count
            try await t.write("Please confirm Tuesday.", as: t.ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            try await t.pat.get("/inbox/\(id)")          // read at once, before delivery
            try await fx.deliver()
            #expect(mailer.sent.dropFirst(before).filter { $0.to == "pat@example.com" }.isEmpty, "already read: no email")
            let skipped = try await OutboxEmail.query(on: app.db).filter(\.$kind == "message-to-patient").all()
            #expect(skipped.map(\.status) == [.skipped] && skipped.allSatisfy { $0.sealedMessage.isEmpty })

            // The reply, read by Ben before delivery, is dropped the same way.
            try await t.pat.post("/inbox/\(id)", [("body", "Tuesday is fine.")])
            try await t.ben.get("/cases/\(t.caseID)/talk")
            try await fx.deliver()
            #expect(mailer.sent.dropFirst(before).filter { $0.to == "ben@riverside.example" }.isEmpty)

            // Two minutes later (well within 15), a new unread message notifies.
            clock.advance(by: 120)
            try await t.write("See you then.", as: t.ben)
            try await fx.deliver()
            #expect(mailer.sent.dropFirst(before).filter { $0.to == "pat@example.com" }.count == 1)
        }
    }

    /// A patient who follows the notification link signs in and lands on that conversation.
    @Test func theNotificationLinkLeadsThroughSignInToTheMessage() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            try await t.write("Please read this.", as: t.ben)
            let id = try #require(try await t.conversation(of: t.registration.invitations.world.ben)?.id)
            let browser = Browser(app)
            let bounced = try await browser.get("/inbox/\(id)")
            #expect(bounced.location == "/login?next=/inbox/\(id)")
            try await browser.get(try #require(bounced.location))
            let password = try await browser.post("/login", [("email", "pat@example.com"), ("password", RegistrationWorld.password),
                                                             ("next", "/inbox/\(id)")])
            #expect(password.location == "/login/verify/method?next=/inbox/\(id)", "the page asked for goes through the code step")
            let signedIn = try await browser.secondStep(after: password, email: "pat@example.com", remember: true)
            #expect(signedIn.location == "/inbox/\(id)")
            for hostile in ["//evil.example/inbox", "https://evil.example", "/\\evil.example", "/%2F%2Fevil.example", "javascript:alert(1)"] {
                let other = Browser(app)
                other.useDeviceCookie(browser.deviceCookie)   // a remembered browser: the password is the last step
                try await other.get("/login")
                let response = try await other.post("/login", [("email", "pat@example.com"), ("password", RegistrationWorld.password),
                                                               ("next", hostile)])
                #expect(response.location == "/portal", "\(hostile)")
            }
        }
    }
}
