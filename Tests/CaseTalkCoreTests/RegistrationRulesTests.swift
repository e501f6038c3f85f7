import CaseTalkCore
import Foundation
import Testing

@Suite struct PhoneNumberTests {
    @Test(arguments: [
        ("(415) 555-0123", "+14155550123"),
        ("415.555.0123", "+14155550123"),
        ("1 415 555 0123", "+14155550123"),
        ("+1 (212) 555-0199", "+12125550199"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 901820", "+4930901820"),
        ("  2125550199 ", "+12125550199"),
    ])
    func normalisesToE164(raw: String, e164: String) throws {
        #expect(try PhoneNumber(raw).e164 == e164)
    }

    @Test(arguments: [
        "", "555-0123", "415-555-012", "0415 555 0123", "(115) 555-0123", "(415) 155-0123", "+1 415 155 0123",
        "+0 123 4567 890", "+12345", "+1234567890123456", "415-555-0123 ext 4", "415+555+0123", "phone", "４１５５５５０１２３",
        "4\u{0301}15 555 0123", "(415) 555-012\u{20DD}3", "٤١٥٥٥٥٠١٢٣",   // combining marks (review L4), Arabic-Indic digits
    ])
    func rejectsWithAClearMessage(raw: String) {
        #expect(throws: ValidationError.self) { try PhoneNumber(raw) }
    }

    @Test func maskedShowsTheLastTwoDigitsOnly() throws {
        let number = try PhoneNumber("(415) 555-0123")
        #expect(number.masked == "••23")
        #expect("\(number)" == "••23", "printing a number never shows it whole")
    }
}

@Suite struct VerificationCodeTests {
    @Test func sixDigitsWithLeadingZerosKept() {
        let codes = (0..<5000).map { _ in VerificationCode.generate() }
        #expect(codes.allSatisfy(VerificationCode.isWellFormed))
        #expect(codes.contains { $0.hasPrefix("0") }, "about one in ten codes starts with 0")
    }

    @Test func digitsAreSpreadEvenly() {
        // 20,000 codes = 120,000 digits; each digit value should appear about 12,000 times.
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<20_000 { for d in VerificationCode.generate().utf8 { counts[Int(d) - 48] += 1 } }
        for count in counts { #expect((11_300...12_700).contains(count), "\(counts)") }
        #expect(Set((0..<2000).map { _ in VerificationCode.generate() }).count > 1990, "codes do not repeat much")
    }

    @Test(arguments: ["12345", "1234567", "12a456", "１２３４５６", " 12345"])
    func malformedCodes(code: String) {
        #expect(!VerificationCode.isWellFormed(code))
    }
}

@Suite struct PasswordPolicyTests {
    let email = try! EmailAddress("jordan.miles@example.com")
    let common = CommonPasswords(list: "123456\npassword\ncorrecthorsebatterystaple\nqwertyuiopasdf\n")

    @Test(arguments: [
        ("a sound long passphrase", "a sound long passphrase", [PasswordPolicy.Rule]()),
        ("short", "short", [.length]),
        ("password", "password", [.length, .notCommon]),
        ("CorrectHorseBatteryStaple", "CorrectHorseBatteryStaple", [.notCommon]),
        ("my jordan.miles secret", "my jordan.miles secret", [.noEmailName]),
        ("a sound long passphrase", "a sound long passphrasE", [.matches]),
        (String(repeating: "x", count: 129), String(repeating: "x", count: 129), [.length]),
        (String(repeating: "é", count: 12), String(repeating: "é", count: 12), []),
    ])
    func checklist(password: String, confirmation: String, broken: [PasswordPolicy.Rule]) {
        #expect(PasswordPolicy.unmet(password, confirmation: confirmation, email: email, common: common) == broken)
    }

    @Test func theShippedListHasAtLeastTenThousandEntries() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Public/data/common-passwords.txt")
        let list = CommonPasswords(list: try String(contentsOf: file, encoding: .utf8))
        #expect(list.count >= 10_000)
        #expect(list.contains("Password") && list.contains("qwerty123"))
        #expect(!list.contains("a sound long passphrase"))
    }
}

@Suite struct RegistrationStepTests {
    typealias P = RegistrationProgress

    @Test(arguments: [
        (P(phonesSaved: false, codeSent: false, codeVerified: false, termsAccepted: false), RegistrationStep.phones),
        (P(phonesSaved: true, codeSent: false, codeVerified: false, termsAccepted: false), .method),
        (P(phonesSaved: true, codeSent: true, codeVerified: false, termsAccepted: false), .code),
        (P(phonesSaved: true, codeSent: true, codeVerified: true, termsAccepted: false), .terms),
        (P(phonesSaved: true, codeSent: true, codeVerified: true, termsAccepted: true), .password),
        // Terms accepted without a verified code (impossible through the pages) still stops at the code.
        (P(phonesSaved: true, codeSent: true, codeVerified: false, termsAccepted: true), .code),
    ])
    func firstUnfinishedStep(progress: P, step: RegistrationStep) {
        #expect(progress.firstUnfinished == step)
        #expect(progress.allows(step), "the first unfinished step is always open")
    }

    @Test func laterStepsAreClosedAndVerifiedPhonesAreFixed() {
        let fresh = P(phonesSaved: false, codeSent: false, codeVerified: false, termsAccepted: false)
        #expect(RegistrationStep.allCases.filter(fresh.allows) == [.phones])
        let sent = P(phonesSaved: true, codeSent: true, codeVerified: false, termsAccepted: false)
        #expect(RegistrationStep.allCases.filter(sent.allows) == [.phones, .method, .code], "back to correct a number or change method")
        let verified = P(phonesSaved: true, codeSent: true, codeVerified: true, termsAccepted: false)
        #expect(RegistrationStep.allCases.filter(verified.allows) == [.terms])
        let accepted = P(phonesSaved: true, codeSent: true, codeVerified: true, termsAccepted: true)
        #expect(RegistrationStep.allCases.filter(accepted.allows) == [.terms, .password])
    }
}

@Suite struct PhoneNumbersFormTests {
    @Test func atLeastOneNumberEachNormalised() throws {
        let numbers = try PhoneNumbers.validate(mobile: " (415) 555-0123 ", home: "", work: "+44 20 7946 0958").get()
        #expect(numbers.mobile?.e164 == "+14155550123" && numbers.home == nil && numbers.work?.e164 == "+442079460958")
        #expect(numbers.all.map(\.0) == [.mobile, .work])
    }

    @Test func mistakesNameTheirField() {
        guard case .failure(let none) = PhoneNumbers.validate(mobile: "", home: "  ", work: nil) else { Issue.record("accepted none"); return }
        #expect(none["mobile"]?.contains("at least one") == true)
        guard case .failure(let bad) = PhoneNumbers.validate(mobile: "415", home: "(212) 555-0199", work: "call me") else {
            Issue.record("accepted bad numbers"); return
        }
        #expect(bad["mobile"]?.hasPrefix("Mobile: ") == true)
        #expect(bad["work"]?.hasPrefix("Work: ") == true)
        #expect(bad["home"] == nil)
    }

    @Test func textMessagesOnlyToMobileCallsToAny() throws {
        #expect(CodeRoute(method: .sms, kind: .home) == nil)
        #expect(CodeRoute(value: "sms-work") == nil)
        #expect(CodeRoute(value: "voice-work")?.kind == .work)
        #expect(CodeRoute(value: "sms-mobile-x") == nil && CodeRoute(value: "") == nil)
        let homeOnly = try PhoneNumbers.validate(mobile: nil, home: "(415) 555-0123", work: nil).get()
        #expect(CodeRoute.available(for: homeOnly).map(\.value) == ["voice-home"])
        let all = try PhoneNumbers.validate(mobile: "(415) 555-0123", home: "(212) 555-0199", work: "(646) 555-0100").get()
        #expect(CodeRoute.available(for: all).map(\.value) == ["sms-mobile", "voice-mobile", "voice-home", "voice-work"])
    }
}

@Suite struct TermsOfUseTests {
    @Test func sectionsAndParagraphs() {
        let terms = TermsOfUse(version: "2026-11-01", text: "Intro line one\nline two\r\n\r\n# 1. First\nA.\n\nB\n# 2. Second\r\nC.\n")
        #expect(terms.sections == [
            .init(heading: nil, paragraphs: ["Intro line one line two"]),
            .init(heading: "1. First", paragraphs: ["A.", "B"]),
            .init(heading: "2. Second", paragraphs: ["C."]),
        ])
    }

    @Test func versionComesFromTheFileName() {
        #expect(TermsOfUse.version(fromFileName: "terms-of-use-2026-11-01.txt") == "2026-11-01")
        #expect(TermsOfUse.version(fromFileName: "terms-of-use-.txt") == nil)
        #expect(TermsOfUse.version(fromFileName: "terms-of-use-draft.txt") == nil)
        #expect(TermsOfUse.version(fromFileName: "README.md") == nil)
    }
}
