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
