@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import Testing
import VaporTesting

/// Brute force, at scale, with the figures printed (`figures:` lines in the test output). They
/// take minutes, so they run when `CASETALK_PROOFS` is set: `.ci/run` runs them once, on SQLite.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CASETALK_PROOFS"] != nil, "set CASETALK_PROOFS=1 to run"))
struct BruteForceTests {
    /// 10,000 wrong codes spread over resends, changes of method and of number: none accepted,
    /// every lock comes after exactly 10 wrong in a row, and the right code is refused while locked.
    @Test func tenThousandWrongCodesAreNeverAccepted() async throws {
        try await withCaseTalk { app, clock in
            let w = try await CodeWorld.make(app, clock)
            let numbers = [w.mobile, try PhoneNumber("(415) 555-0188")]
            var attempts = 0, accepted = 0, locks = 0, refusedWhileLocked = 0, sends = 0
            var inARow = 0
            var route = 0
            var live: String?
            while attempts < 10_000 {
                if live == nil {
                    // A new code: alternate the method and the number, as an attacker would.
                    clock.advance(by: 121)   // past the 30 s countdown; 5 sends per number per 10 minutes
                    let channel: CodeChannel = route % 2 == 0 ? .sms : .voice
                    let number = numbers[(route / 2) % 2]
                    route += 1
                    switch try await w.send(channel, to: number) {
                    case .sent: live = w.phones.lastCode; sends += 1
                    case .locked(let until): clock.advance(by: until.timeIntervalSince(clock.now) + 1); continue
                    case let other: Issue.record("unexpected send outcome \(other)"); return
                    }
                }
                let right = try #require(live)
                attempts += 1
                switch try await w.check(CodeWorld.wrong(than: right)) {
                case .verified:
                    accepted += 1
                case .wrong(let stillLive):
                    inARow += 1
                    if !stillLive { live = nil }
                case .locked:
                    inARow += 1
                    #expect(inARow == CodeLimits.wrongInARowBeforeLock, "locked after \(inARow) wrong in a row")
                    locks += 1
                    inARow = 0
                    if try await w.check(right) != .verified { refusedWhileLocked += 1 }
                    let until = try #require(try await Registration.find(w.invitationID, on: app.db)?.lockedUntil)
                    clock.advance(by: until.timeIntervalSince(clock.now) + 1)
                    live = nil
                case .noLiveCode, .malformed:
                    live = nil
                }
            }
            print("figures: brute force, wrong codes: attempts \(attempts), accepted \(accepted), locks \(locks) (each after exactly 10 in a row), codes sent \(sends), right code refused while locked \(refusedWhileLocked) of \(locks)")
            #expect(accepted == 0)
            #expect(locks == attempts / CodeLimits.wrongInARowBeforeLock)
            #expect(refusedWhileLocked == locks)
            #expect(try await Invitation.find(w.invitationID, on: app.db)?.status != .codeVerified)
        }
    }

    /// 1,000 wrong passwords against one account: locked on the 5th, nothing accepted, the right
    /// password refused while locked. The per-account rate limit (20 per 10 minutes) answers 429
    /// on top of the lock.
    @Test func aThousandWrongPasswordsLockAfterFive() async throws {
        try await withCaseTalk { app, clock in
            let id = try await Fixtures(app: app).ada()
            let browser = Browser(app)
            var statuses: [HTTPStatus: Int] = [:]
            var lockedAt: Int?
            for n in 1...1000 {
                let response = try await browser.signIn("ada@example.com", password: "guess-\(n)-wrong")
                statuses[response.status, default: 0] += 1
                if lockedAt == nil, try await StaffUser.find(id, on: app.db)?.lockedUntil != nil { lockedAt = n }
            }
            let rightWhileLocked = try await browser.signIn("ada@example.com")
            let summary = statuses.map { "\($0.key.code): \($0.value)" }.sorted().joined(separator: ", ")
            print("figures: brute force, wrong passwords: attempts 1000, accepted \(statuses[.seeOther] ?? 0), locked at attempt \(lockedAt ?? -1), answers \(summary)")
            #expect(lockedAt == SignInLockout.maxConsecutiveFailures)
            #expect(statuses[.seeOther] == nil, "no wrong password was accepted")
            #expect(rightWhileLocked.status != .seeOther, "the right password is refused while locked")
            #expect((statuses[.tooManyRequests] ?? 0) > 900, "the rate limit takes over")
        }
    }

    /// Someone who has the password guesses the second step: 1,000 wrong TOTP codes, each locking
    /// round 5 guesses long (wrong codes count with wrong passwords), none accepted, and the right
    /// password refused while locked. At 5 guesses per 15 minutes, one of the 3 live codes out of a
    /// million is found on average after about 50,000 hours.
    @Test func aThousandWrongTwoStepCodesFiveInEachLock() async throws {
        try await withCaseTalk { app, clock in
            let id = try await Fixtures(app: app).ada()
            let key = try await TwoStepSupport.key(app, email: "ada@example.com").key
            let browser = Browser(app)
            var attempts = 0, accepted = 0, locks = 0, rightPasswordRefused = 0
            var guessesPerLock: Set<Int> = []
            while attempts < 1000 {
                let password = try await browser.signInPasswordOnly("ada@example.com")
                guard password.location == "/login/two-step" else { Issue.record("password step: \(password.status)"); return }
                try await browser.get("/login/two-step")
                var guesses = 0
                while true {
                    let now = TOTP.step(at: clock.now)
                    let live = Set((now - 1...now + 1).map { TOTP.code(key: key, step: $0) })
                    var guess: String
                    repeat { guess = String(format: "%06d", Int.random(in: 0..<1_000_000)) } while live.contains(guess)
                    attempts += 1
                    guesses += 1
                    if try await browser.post("/login/two-step", [("code", guess)]).location == "/cases" { accepted += 1 }
                    if let until = try await StaffUser.find(id, on: app.db)?.lockedUntil, until > clock.now { break }
                }
                locks += 1
                guessesPerLock.insert(guesses)
                if try await browser.signInPasswordOnly("ada@example.com").location == nil { rightPasswordRefused += 1 }
                clock.advance(by: SignInLockout.lockDuration + 1)
            }
            print("figures: brute force, wrong two-step codes with the right password: attempts \(attempts), accepted \(accepted), locks \(locks) (guesses per lock \(guessesPerLock.sorted())), right password refused while locked \(rightPasswordRefused) of \(locks)")
            #expect(accepted == 0)
            #expect(guessesPerLock == [SignInLockout.maxConsecutiveFailures])
            #expect(rightPasswordRefused == locks)
        }
    }

    /// Sign-in takes as long for an unknown address as for a wrong password on a real account:
    /// both run one scrypt hash with the real parameters. Interleaved samples; medians reported.
    @Test func unknownAndExistingAddressesTakeTheSameTime() async throws {
        try await withCaseTalk(adjust: { $0.passwordParameters = .standard; $0.rateLimits = .off }) { app, clock in
            let fx = Fixtures(app: app)
            _ = try await fx.ada()
            var existing: [Double] = [], unknown: [Double] = []
            for n in 0..<12 {
                for (email, bucket) in [("ada@example.com", 0), ("nobody-\(n)@example.com", 1)] {
                    let browser = Browser(app)
                    try await browser.get("/login")
                    let start = ContinuousClock.now
                    let response = try await browser.post("/login", [("email", email), ("password", "not-the-password-\(n)")])
                    let elapsed = ContinuousClock.now - start
                    #expect(response.status == .unauthorized)
                    let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                    if bucket == 0 { existing.append(ms) } else { unknown.append(ms) }
                }
                clock.advance(by: 16 * 60)   // past the lock, so every sample is a plain wrong password
            }
            func median(_ values: [Double]) -> Double { let s = values.sorted(); return (s[s.count / 2] + s[(s.count - 1) / 2]) / 2 }
            let (a, b) = (median(existing), median(unknown))
            print(String(format: "figures: sign-in timing, median of 12 each: existing account %.1f ms, unknown address %.1f ms (ratio %.2f)", a, b, a / b))
            #expect(abs(a - b) < 0.25 * max(a, b), "medians \(a) ms and \(b) ms")
        }
    }
}
