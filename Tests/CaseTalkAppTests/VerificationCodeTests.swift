@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import NIOConcurrencyHelpers
import Testing
import VaporTesting

/// Keeps the codes it "sends"; fails while `failing` is set.
final class RecordingPhones: PhoneSender, Sendable {
    private let state = NIOLockedValueBox<(codes: [(String, String, CodeChannel)], failing: Bool)>(([], false))
    func send(code: String, to number: PhoneNumber, by channel: CodeChannel) async throws {
        try state.withLockedValue { state in
            if state.failing { throw PhoneDeliveryError(description: "the SMS/voice provider answered 500") }
            state.codes.append((code, number.e164, channel))
        }
    }
    var lastCode: String? { state.withLockedValue { $0.codes.last?.0 } }
    /// (code, E.164 number, channel) of every send, in order.
    var sends: [(String, String, CodeChannel)] { state.withLockedValue { $0.codes } }
    var count: Int { state.withLockedValue { $0.codes.count } }
    func fail(_ on: Bool) { state.withLockedValue { $0.failing = on } }
}

/// An invitation of Ben's case, and the code functions at the test clock's time.
struct CodeWorld {
    let app: Application
    let clock: TestClock
    let phones: RecordingPhones
    let invitationID: UUID
    let mobile = try! PhoneNumber("(415) 555-0123")

    static func make(_ app: Application, _ clock: TestClock) async throws -> CodeWorld {
        let phones = RecordingPhones()
        app.caseTalk.phones = phones
        let w = try await InvitationWorld.make(app)
        try await w.invite("pat@example.com")
        let invitationID = try #require(try await w.invitation()?.id)
        // The row the phone numbers step makes, which holds the code.
        _ = try await PatientRegistration.row(invitationID: invitationID, now: clock.now, on: app.db)
        return CodeWorld(app: app, clock: clock, phones: phones, invitationID: invitationID)
    }

    var context: VerificationCodes.Context {
        .registration(invitationID: invitationID, use: UseCaseContext(services: app.caseTalk, db: app.db, now: clock.now, clientAddress: "127.0.0.1"))
    }

    @discardableResult
    func send(_ channel: CodeChannel = .sms, to number: PhoneNumber? = nil) async throws -> VerificationCodes.SendOutcome {
        try await VerificationCodes.send(to: number ?? mobile, by: channel, context)
    }

    func check(_ code: String) async throws -> VerificationCodes.CheckOutcome {
        try await VerificationCodes.check(code, context)
    }

    /// A well-formed code that is not `code`.
    static func wrong(than code: String) -> String { code == "000000" ? "000001" : "000000" }
}

@Suite struct VerificationCodeTests {
    @Test func theRightCodeWorksOnceAndIsStoredOnlyAsAnHMAC() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            #expect(try await w.send() == .sent)
            let code = try #require(w.phones.lastCode)
            let stored = try #require(try await Registration.find(w.invitationID, on: app.db))
            #expect(stored.codeHMAC != nil && stored.codeHMAC != code && !(stored.codeHMAC ?? "").contains(code))
            #expect(try await w.check(code) == .verified)
            #expect(try await w.check(code) == .noLiveCode, "single use")
            #expect(try await Invitation.find(w.invitationID, on: app.db)?.status == .codeVerified)
        }
    }

    @Test func resendKillsTheOldCodeAfterTheThirtySecondCountdown() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            try await w.send()
            let first = try #require(w.phones.lastCode)
            clock.advance(by: 10)
            #expect(try await w.send() == .wait(seconds: 20))
            clock.advance(by: 20)
            #expect(try await w.send(.voice) == .sent, "Change Delivery Method is a send too")
            let second = try #require(w.phones.lastCode)
            if first != second { #expect(try await w.check(first) == .wrong(codeStillLive: true)) }
            #expect(try await w.check(second) == .verified)
        }
    }

    @Test func codesLiveTenMinutes() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            try await w.send()
            clock.advance(by: 10 * 60)
            #expect(try await w.check(try #require(w.phones.lastCode)) == .noLiveCode)
        }
    }

    @Test func fiveSendsPerNumberPerTenMinutes() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            for _ in 0..<5 {
                #expect(try await w.send() == .sent)
                clock.advance(by: 30)
            }
            #expect(try await w.send() == .tooManyForNumber(retryAfter: 450), "the first of the five leaves the window in 450 s")
            #expect(try await w.send(to: try PhoneNumber("(212) 555-0199")) == .sent, "another number may still be used")
            clock.advance(by: 10 * 60 - 150 + 1)
            #expect(try await w.send() == .sent, "the first send has left the window")
        }
    }

    @Test func aCodeDiesAfterFiveWrongTries() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            try await w.send()
            let code = try #require(w.phones.lastCode)
            for attempt in 1...5 {
                #expect(try await w.check(CodeWorld.wrong(than: code)) == .wrong(codeStillLive: attempt < 5))
            }
            #expect(try await w.check(code) == .noLiveCode, "even the right code is refused now")
        }
    }

    @Test func tenWrongInARowLockAndResendingDoesNotResetTheCount() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            try await w.send()
            for _ in 0..<4 { _ = try await w.check(CodeWorld.wrong(than: w.phones.lastCode!)) }
            clock.advance(by: 30)
            try await w.send(.voice)   // a new code, and a new method: the streak goes on
            for _ in 0..<4 { _ = try await w.check(CodeWorld.wrong(than: w.phones.lastCode!)) }
            clock.advance(by: 30)
            try await w.send()
            let live = try #require(w.phones.lastCode)
            #expect(try await w.check(CodeWorld.wrong(than: live)) == .wrong(codeStillLive: true))
            guard case .locked(let until) = try await w.check(CodeWorld.wrong(than: live)) else {
                Issue.record("the 10th wrong code in a row locks"); return
            }
            #expect(until == clock.now.addingTimeInterval(15 * 60))
            #expect(try await w.check(live) == .locked(until: until), "the right code is refused while locked")
            #expect(try await w.send() == .locked(until: until), "and no code is sent")

            clock.advance(by: 15 * 60)
            #expect(try await w.send() == .sent)
            for _ in 0..<5 { _ = try await w.check(CodeWorld.wrong(than: w.phones.lastCode!)) }   // the code dies; 5 in a row
            clock.advance(by: 30)
            #expect(try await w.send() == .sent)
            for _ in 0..<4 { _ = try await w.check(CodeWorld.wrong(than: w.phones.lastCode!)) }   // 9 in a row
            guard case .locked(let second) = try await w.check(CodeWorld.wrong(than: w.phones.lastCode!)) else {
                Issue.record("the 10th wrong code in a row locks again"); return
            }
            #expect(second == clock.now.addingTimeInterval(30 * 60), "the second lock lasts twice as long")
            let locks = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.verificationLocked.rawValue).count()
            #expect(locks == 2)
        }
    }

    @Test func providerFailuresAreNotCountedAgainstThePatient() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            w.phones.fail(true)
            for _ in 0..<6 { #expect(try await w.send() == .providerFailed) }
            #expect(try await PhoneSendWindows.recentSends(w.mobile.e164, now: clock.now, on: app.db) == 0)
            w.phones.fail(false)
            #expect(try await w.send() == .sent, "no countdown or limit from the failures")
            #expect(try await w.check(try #require(w.phones.lastCode)) == .verified)
            let audited = try await AuditEntry.query(on: app.db).filter(\.$action == AuditAction.codeSendFailed.rawValue).all()
            #expect(audited.count == 6)
            #expect(audited.allSatisfy { $0.subject.contains("number:••23") && !$0.subject.contains("4155550123") })
        }
    }

    @Test func twentyParallelChecksOfTheRightCodeSucceedOnce() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            try await w.send()
            let code = try #require(w.phones.lastCode)
            let outcomes = try await withThrowingTaskGroup(of: VerificationCodes.CheckOutcome.self) { group in
                for _ in 0..<20 { group.addTask { try await w.check(code) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .verified }.count == 1, "\(outcomes)")
        }
    }

    @Test func malformedCodesAreNotCounted() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            try await w.send()
            for junk in ["12345", "abcdef", "1234567", "<script>"] { #expect(try await w.check(junk) == .malformed) }
            #expect(try await Registration.find(w.invitationID, on: app.db)?.wrongStreak == 0)
        }
    }
}
