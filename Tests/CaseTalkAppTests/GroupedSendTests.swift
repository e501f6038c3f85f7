@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Sends are stored in groups (`MessageWriter`): whatever arrives together shares a transaction.
/// Each send must still be stored exactly once, in its own conversation, counted, audited and
/// notified as if it had been alone, and a send that cannot be stored must fail alone.
@Suite struct GroupedSendTests {
    @Test func manySendsAtOnceAreEachStoredCountedAndAuditedOnce() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let ids = t.registration.invitations.world
            try await t.write("First, so the patient can answer.", as: t.ben)
            let bens = try #require(try await t.conversation(of: ids.ben)).requireID()
            let auditBefore = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.messageSent.rawValue).count()

            // 20 from Ben, 20 from Cy, 20 replies from Pat to Ben, all at once; every Ben send twice
            // with the same form key (a retry racing the original).
            struct Send: Sendable { let cookie: String; let csrf: String; let path: String; let body: String; let key: String }
            func send(_ browser: Browser, _ path: String, _ body: String, key: String = SecureRandom.token()) throws -> Send {
                Send(cookie: try #require(browser.sessionCookie), csrf: try #require(browser.csrf), path: path, body: body, key: key)
            }
            try await t.cy.get("/cases/\(t.caseID)/talk")
            try await t.pat.get("/inbox/\(bens)")
            var sends: [Send] = []
            for n in 0..<20 {
                let key = SecureRandom.token()
                sends.append(try send(t.ben, "/cases/\(t.caseID)/talk", "Ben \(n)", key: key))
                sends.append(try send(t.ben, "/cases/\(t.caseID)/talk", "Ben \(n)", key: key))
                sends.append(try send(t.cy, "/cases/\(t.caseID)/talk", "Cy \(n)"))
                sends.append(try send(t.pat, "/inbox/\(bens)", "Pat \(n)"))
            }
            let answers = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for send in sends {
                    group.addTask {
                        let copy = Browser(app)
                        copy.useCookie(send.cookie)
                        return try await copy.post(send.path, [("body", send.body), ("idempotency_key", send.key)], csrf: send.csrf).status
                    }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(answers.count == 80 && answers.allSatisfy { $0 == .seeOther }, "\(Set(answers.map(\.code)))")

            let ben = try #require(try await Conversation.find(bens, on: app.db))
            let cy = try #require(try await t.conversation(of: ids.cy))
            #expect(ben.messageCount == 41 && ben.patientUnread == 20 && ben.memberUnread == 20,
                    "Pat read the first; \(ben.messageCount) \(ben.patientUnread) \(ben.memberUnread)")
            #expect(cy.messageCount == 20 && cy.patientUnread == 20 && cy.memberUnread == 0)
            #expect(try await Message.query(on: app.db).count() == 61)
            #expect(try await Message.query(on: app.db).filter(\.$conversationID == bens).filter(\.$author == .patient).count() == 20)
            #expect(try await Message.query(on: app.db).filter(\.$conversationID == cy.requireID()).filter(\.$author == .patient).count() == 0,
                    "a reply lands in its own member's conversation only")

            // One audit entry per stored message, naming it, and the chain intact.
            let entries = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.messageSent.rawValue).all()
            #expect(entries.count - auditBefore == 60)
            let messageIDs = Set(try await Message.query(on: app.db).all().map { try $0.requireID().uuidString })
            let audited = Set(entries.compactMap { $0.subject.split(separator: " ").last.map { String($0.dropFirst("message:".count)) } })
            #expect(audited == messageIDs)
            #expect(try await Audit.verify(on: app.db, key: app.caseTalk.auditKey) == .intact(entries: try await AuditEntry.query(on: app.db).count()))

            // At most one notification per conversation and recipient in these 15 minutes.
            let kinds = try await OutboxEmail.query(on: app.db).filter(\.$kind ~~ ["message-to-patient", "reply-to-member"]).all()
            let perConversation = Dictionary(grouping: kinds) { "\($0.kind) \($0.relatedID?.uuidString ?? "")" }
            #expect(perConversation.values.allSatisfy { $0.count == 1 }, "\(perConversation.mapValues(\.count))")
            #expect(perConversation.count == 3, "Pat about Ben's and Cy's messages, Ben about Pat's replies")
        }
    }

    /// A group's statements are a fixed number however many conversations it writes to and
    /// notifies: one list or one chunk of rows each (16 is one chunk, see `Bucket`).
    @Test func aGroupWritingToSixteenConversationsRunsAsManyStatementsAsAGroupWritingToOne() async throws {
        _ = LogCapture.shared
        var counts: [Int: Int] = [:]
        for size in [1, 16] {
            let mark = "group-" + UUID().uuidString
            func statements() -> Int { LogCapture.shared.statements(logMark: mark) }
            try await withCaseTalk(adjust: { $0.sqlLogLevel = .debug }, logMark: mark) { app, clock in
                let w = try await ReadWorld.make(app, clock, cases: size, messagesEach: 0)
                var drafts: [MessageWriter.Draft] = []
                for id in w.conversations {
                    let conversation = try #require(try await Conversation.find(id, on: app.db))
                    drafts.append(MessageWriter.Draft(messageID: UUID(), author: .member, caseID: conversation.caseID,
                                                      memberID: conversation.memberID, idempotencyKey: SecureRandom.token(), body: "New",
                                                      actor: .staff(conversation.memberID), clientAddress: "127.0.0.1", at: clock.now))
                }
                let before = statements()
                let results = try await MessageWriter.store(drafts, services: app.caseTalk, on: app.db)
                counts[size] = statements() - before
                #expect(results.count == size && results.allSatisfy { (try? $0.get()) != nil })
                #expect(try await Message.query(on: app.db).count() == size)
                #expect(try await OutboxEmail.query(on: app.db).filter(\.$kind == OutboxKind.messageToPatient.rawValue).count() == size,
                        "each conversation's patient is told")
            }
        }
        #expect((counts[1] ?? 0) > 0, "the query log is seen")
        #expect(counts[1] == counts[16], "statements per group: \(counts)")
    }

    @Test func aSendThatCannotBeStoredFailsAloneAndTheOthersAreStored() async throws {
        try await withCaseTalk { app, clock in
            let t = try await TalkWorld.make(app, clock)
            let ben = t.registration.invitations.world.ben
            let services = app.caseTalk
            func draft(_ author: MessageAuthor, caseID: UUID, memberID: UUID) throws -> MessageWriter.Draft {
                let id = UUID()
                return MessageWriter.Draft(messageID: id, author: author, caseID: caseID, memberID: memberID, idempotencyKey: nil,
                                           body: "text",
                                           actor: .staff(memberID), clientAddress: "127.0.0.1", at: clock.now)
            }
            // In one group: a patient's send into a conversation no member started is refused
            // (404), the member's sends beside it are stored.
            let group = [try draft(.member, caseID: t.caseID, memberID: ben), try draft(.patient, caseID: t.caseID, memberID: UUID()),
                         try draft(.member, caseID: t.caseID, memberID: ben)]
            let results = try await MessageWriter.store(group, services: services, on: app.db)
            #expect((try? results[0].get()) == group[0].messageID && (try? results[2].get()) == group[2].messageID)
            #expect(throws: PublicError.self) { try results[1].get() }
            #expect(try await Message.query(on: app.db).count() == 2)

            // Cy is not a member of Ben's second case: beside Ben's send, his is refused and
            // changes nothing there (no conversation, not even the case's activity time).
            let cy = t.registration.invitations.world.cy
            let (_, otherCase) = try await t.registration.invitations.world.caseByBen(title: "Implant")
            let before = try #require(try await PatientCase.find(otherCase, on: app.db)).lastActivityAt
            clock.advance(by: 60)
            let mixed = [try draft(.member, caseID: t.caseID, memberID: ben), try draft(.member, caseID: otherCase, memberID: cy)]
            let answers = try await MessageWriter.store(mixed, services: services, on: app.db)
            #expect((try? answers[0].get()) != nil)
            #expect(throws: PublicError.self) { try answers[1].get() }
            #expect(try await PatientCase.find(otherCase, on: app.db)?.lastActivityAt == before)
            #expect(try await Conversation.query(on: app.db).filter(\.$caseID == otherCase).count() == 0)
            #expect(try await Message.query(on: app.db).count() == 3)

            // A send the database refuses (a case that does not exist) takes its whole group's
            // transaction down; the writer then stores the others one by one.
            let bad = try draft(.member, caseID: UUID(), memberID: ben)
            let good = try (0..<9).map { _ in try draft(.member, caseID: t.caseID, memberID: ben) }
            let outcomes = await withTaskGroup(of: (UUID, Bool).self) { tasks in
                for d in good + [bad] {
                    tasks.addTask { (d.messageID, (try? await services.messages.write(d, services: services, on: app.db)) != nil) }
                }
                return await tasks.reduce(into: [UUID: Bool]()) { $0[$1.0] = $1.1 }
            }
            #expect(outcomes[bad.messageID] == false)
            #expect(good.allSatisfy { outcomes[$0.messageID] == true })
            #expect(try await Message.query(on: app.db).count() == 12)
            #expect(try await Conversation.query(on: app.db).filter(\.$caseID == t.caseID).filter(\.$memberID == ben).first()?.messageCount == 12)
        }
    }
}

/// A group whose database never answers must not hold up the writes behind it.
@Suite struct WriteGroupDeadlineTests {
    @Test func aGroupThatNeverFinishesIsAnsweredAsFailedAndTheNextOneIsWritten() async throws {
        try await withCaseTalk { app, _ in
            let (gate, open) = AsyncStream<Void>.makeStream()
            let (started, start) = AsyncStream<Void>.makeStream()
            let groups = WriteGroups<String, String>(deadline: .milliseconds(300)) { items, _, _ in
                if items.contains("hang") {
                    start.yield()
                    for await _ in gate { break }
                }
                return items.map { .success("stored " + $0) }
            }
            let services = app.caseTalk, db = app.db
            let hung = Task { try await groups.write("hang", services: services, on: db) }
            for await _ in started { break }   // the hung group is being written
            let next = Task { try await groups.write("next", services: services, on: db) }
            await #expect(throws: WriteGroups<String, String>.TookTooLong.self) { try await hung.value }
            let written = try await next.value
            #expect(written == "stored next", "written after the hung group was given up")
            open.yield()
        }
    }

    @Test func aStoreThatAnswersTooFewLeavesNoWriterWaiting() async throws {
        try await withCaseTalk { app, _ in
            // A broken store: one answer short for every group but the lone "fine".
            let groups = WriteGroups<String, String>(deadline: .seconds(5)) { items, _, _ in
                items == ["fine"] ? [.success("stored fine")] : items.dropLast().map { .success("stored " + $0) }
            }
            let services = app.caseTalk, db = app.db
            let outcomes = try await withThrowingTaskGroup(of: String?.self) { group in
                for item in ["a", "b", "c", "fine"] {
                    group.addTask {
                        do { return try await groups.write(item, services: services, on: db) } catch is WriteGroups<String, String>.Miscounted {
                            return "failed " + item
                        }
                    }
                }
                // Without the check the unanswered writers wait for ever: this answers first.
                group.addTask { try await Task.sleep(for: .seconds(20)); return nil }
                var seen: [String] = []
                while seen.count < 4, let next = try await group.next() {
                    guard let next else { break }
                    seen.append(next)
                }
                group.cancelAll()
                return seen.sorted()
            }
            #expect(outcomes == ["failed a", "failed b", "failed c", "stored fine"])
        }
    }
}
