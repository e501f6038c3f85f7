@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// A patient, Dr. Ada, and `cases` cases joined to the patient's account, in each of which Ada
/// wrote `messagesEach` messages: written straight to the database, sealed as the app seals them.
struct ReadWorld {
    let app: Application
    let patient: Browser
    let conversations: [UUID]
    static let email = "reader@example.com"

    static func make(_ app: Application, _ clock: TestClock, cases: Int, messagesEach: Int) async throws -> ReadWorld {
        let fx = Fixtures(app: app)
        let ada = try await fx.ada()
        let practiceID = try #require(try await StaffUser.find(ada, on: app.db)).$practice.id
        let now = clock.now
        let patient = Patient(email: email, name: "Rita Reader", passwordHash: try await app.caseTalk.passwords.hash(RegistrationWorld.password),
                              mobileNumber: "+14155550123", verifiedNumber: "+14155550123", termsVersion: "2026-11-01",
                              termsAcceptedAt: now, createdAt: now)
        try await patient.create(on: app.db)
        var conversationIDs: [UUID] = []
        for n in 0..<cases {
            let patientCase = PatientCase(practiceID: practiceID, patientFirstName: "Rita", patientLastName: "Reader", title: "Case \(n)",
                                          createdByID: ada, createdAt: now)
            try await patientCase.create(on: app.db)
            try await CaseMember(caseID: patientCase.id!, staffID: ada, addedByID: nil, addedAt: now).create(on: app.db)
            try await CasePatient(caseID: patientCase.id!, patientID: patient.id!, joinedAt: now).create(on: app.db)
            // With its patient, as the app writes it for a case that has one.
            let conversation = Conversation(id: UUID(), caseID: patientCase.id!, memberID: ada, patientID: patient.id, now: now.addingTimeInterval(Double(n)))
            conversation.messageCount = messagesEach
            conversation.patientUnread = messagesEach
            try await conversation.create(on: app.db)
            conversationIDs.append(conversation.id!)
            let messages = try (0..<messagesEach).map { m in
                try Message(conversationID: conversation.id!, author: .member, body: "Message number \(m).", sealer: app.caseTalk.sealer,
                            createdAt: now.addingTimeInterval(Double(m)))
            }
            for chunk in stride(from: 0, to: messages.count, by: 200) {
                try await Array(messages[chunk..<min(chunk + 200, messages.count)]).create(on: app.db)
            }
        }
        let browser = Browser(app)
        app.caseTalk.phones = RecordingPhones()   // the sign-in code of a browser not seen before
        try await browser.signIn(email, password: RegistrationWorld.password)
        return ReadWorld(app: app, patient: browser, conversations: conversationIDs)
    }

    /// The SQL statements one GET runs, counted from the query log, picked out by the request id
    /// the test sends.
    func statements(_ path: String) async throws -> (count: Int, response: TestingHTTPResponse) {
        let id = "count-" + UUID().uuidString
        let response = try await patient.get(path, extraHeaders: ["X-Request-Id": id])
        let count = LogCapture.shared.statements(request: id)
        return (count, response)
    }
}

@Suite struct ReadPathTests {
    @Test func theInboxRunsTheSameStatementsForOneAndForAHundredConversations() async throws {
        _ = LogCapture.shared
        var counts: [Int: Int] = [:]
        for size in [1, 100] {
            try await withCaseTalk(adjust: { $0.sqlLogLevel = .debug }) { app, clock in
                let w = try await ReadWorld.make(app, clock, cases: size, messagesEach: 1)
                _ = try await w.statements("/inbox")   // the first page after sign-in may touch the session
                let (count, response) = try await w.statements("/inbox")
                #expect(response.status == .ok)
                #expect(response.body.string.components(separatedBy: "Case ").count - 1 == min(size, InboxController.pageSize))
                counts[size] = count
            }
        }
        #expect((counts[1] ?? 0) > 0, "the query log is seen")
        #expect(counts[1] == counts[100], "statements per inbox page: \(counts)")
        #expect(counts[100] == 2, "the session with the signed-in patient, the page: \(counts)")
    }

    @Test func aThousandMessageThreadOpensOnItsNewestFiftyWithTheSameStatementsAsAShortOne() async throws {
        _ = LogCapture.shared
        let mark = "thread-" + UUID().uuidString
        // Every statement of the app, the view's writes too (they run in the group that writes
        // views, not in the request).
        func all() -> Int { LogCapture.shared.statements(logMark: mark) }
        try await withCaseTalk(adjust: { $0.sqlLogLevel = .debug }, logMark: mark) { app, clock in
            let w = try await ReadWorld.make(app, clock, cases: 2, messagesEach: 1000)
            let long = w.conversations[0]
            _ = try await w.statements("/inbox")
            let beforeFirst = all()
            let page = try await w.patient.get("/inbox/\(long)")
            let firstAll = all() - beforeFirst
            let html = page.body.string
            #expect(html.components(separatedBy: "<li class=\"message").count - 1 == Conversations.threadPageSize)
            #expect(html.contains("Message number 999.") && html.contains("Message number 950.") && !html.contains("Message number 949."))
            #expect(html.contains("href=\"/inbox/\(long)?page=2\"") && html.contains("Show earlier messages") && !html.contains("Show later messages"))
            let beforeSecond = all()
            let older = try await w.patient.get("/inbox/\(long)?page=2")
            let secondAll = all() - beforeSecond
            #expect(older.body.string.contains("Message number 900.") && !older.body.string.contains("Message number 950."))
            #expect(older.body.string.contains("Show later messages"))
            let last = try await w.patient.get("/inbox/\(long)?page=20").body.string
            #expect(last.contains("Message number 0.") && !last.contains("Show earlier messages"))
            #expect(try await Conversation.find(long, on: app.db)?.patientUnread == 0, "opening marks it read")
            #expect(try await Message.query(on: app.db).filter(\.$conversationID == long).filter(\.$readAt == nil).count() == 0)
            // Opened again, the newest page has nothing unread: only the view is written (the audit
            // entry), not the two read marks (the messages', the conversation's count).
            let beforeAgain = all()
            _ = try await w.patient.get("/inbox/\(long)")
            let againAll = all() - beforeAgain
            #expect(againAll > 0 && againAll == secondAll, "statements per thread page do not grow with the page: \(againAll) vs \(secondAll)")
            #expect(firstAll == againAll + 2, "a page with unread messages marks them (two statements): \(firstAll) vs \(againAll)")
        }
    }
}
