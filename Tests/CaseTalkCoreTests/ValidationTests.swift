import CaseTalkCore
import Testing

@Suite struct EmailAddressTests {
    @Test(arguments: [
        ("Patient@Example.com", "patient@example.com"),
        ("  dr.who+case@clinic.example.org ", "dr.who+case@clinic.example.org"),
        ("o'brien@mail.example", "o'brien@mail.example"),
    ])
    func acceptsAndNormalises(raw: String, expected: String) throws {
        #expect(try EmailAddress(raw).value == expected)
    }

    @Test(arguments: [
        "", "plainaddress", "@example.com", "a@b", "a@@example.com", "a..b@example.com", ".a@example.com",
        "a@-example.com", "a@example..com", "a b@example.com", "a@example.com\r\nBcc: x@evil.example",
        "<script>@example.com", "a@example.123", String(repeating: "a", count: 65) + "@example.com",
    ])
    func rejects(raw: String) {
        #expect(throws: ValidationError.self) { try EmailAddress(raw) }
    }

    @Test func localPartIsTheNameBeforeTheAt() throws {
        #expect(try EmailAddress("Jane.Doe@example.com").localPart == "jane.doe")
    }
}

@Suite struct TextInputTests {
    @Test func trimsAndAcceptsOrdinaryText() throws {
        #expect(try TextInput.singleLine("  Zoë O'Neil-Łukasz ", label: "name", maxLength: 100) == "Zoë O'Neil-Łukasz")
    }

    @Test(arguments: ["a\u{0}b", "a\u{7}b", "evil\u{202E}txt", "zero\u{200B}width", "line\nbreak"])
    func rejectsControlBidiAndZeroWidth(raw: String) {
        #expect(throws: ValidationError.self) { try TextInput.singleLine(raw, label: "name", maxLength: 100) }
    }

    @Test func enforcesLengthAndRequired() {
        #expect(throws: ValidationError.self) { try TextInput.singleLine(String(repeating: "x", count: 101), label: "name", maxLength: 100) }
        #expect(throws: ValidationError.self) { try TextInput.singleLine("   ", label: "name", maxLength: 100) }
        #expect((try? TextInput.singleLine("", label: "name", maxLength: 100, required: false)) == .some(nil))
    }

    @Test func multiLineKeepsLineBreaksButNotOtherControls() throws {
        #expect(try TextInput.multiLine("one\r\ntwo\tthree", label: "notes", maxLength: 100) == "one\ntwo\tthree")
        #expect(throws: ValidationError.self) { try TextInput.multiLine("bell\u{7}", label: "notes", maxLength: 100) }
    }
}

@Suite struct CaseDraftTests {
    let today = CalendarDate(year: 2026, month: 11, day: 24)!

    @Test func validInputBecomesADraft() throws {
        let result = CaseDraft.validate(.init(firstName: " Ana ", lastName: "Silva", dateOfBirth: "1990-02-28",
                                              patientEmail: "Ana@Example.com", title: "Crown", notes: ""), today: today)
        let draft = try result.get()
        #expect(draft.patientFirstName == "Ana")
        #expect(draft.patientDateOfBirth == CalendarDate(year: 1990, month: 2, day: 28))
        #expect(draft.patientEmail?.value == "ana@example.com")
        #expect(draft.notes == nil)
    }

    @Test func everyProblemIsReportedByField() {
        let result = CaseDraft.validate(.init(firstName: "", lastName: "x", dateOfBirth: "2027-01-01",
                                              patientEmail: "nope", title: ""), today: today)
        guard case .failure(let errors) = result else { Issue.record("expected errors"); return }
        #expect(errors.messages.map(\.field) == ["first_name", "date_of_birth", "patient_email", "title"])
    }

    @Test(arguments: ["1990-02-30", "1990-2-3", "90-02-03", "1899-12-31", "abcd-ef-gh", "2026-11-25"])
    func badDatesOfBirthAreRejected(raw: String) {
        let result = CaseDraft.validate(.init(firstName: "A", lastName: "B", dateOfBirth: raw, title: "T"), today: today)
        guard case .failure(let errors) = result else { Issue.record("expected an error for \(raw)"); return }
        #expect(errors["date_of_birth"] != nil)
    }

    @Test func leapDay() {
        #expect(CalendarDate(iso: "2024-02-29") != nil)
        #expect(CalendarDate(iso: "2023-02-29") == nil)
        #expect(CalendarDate(iso: "2000-02-29") != nil)
        #expect(CalendarDate(iso: "1900-02-29") == nil)
    }
}

@Suite struct SafeRedirectTests {
    @Test(arguments: ["/cases", "/cases/1B0E7C5E-0000-4000-8000-000000000000/talk", "/inbox?page=2"])
    func keepsOwnRelativePaths(path: String) {
        #expect(SafeRedirect.validate(path) == path)
    }

    @Test(arguments: [
        "https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example", "/%2F%2Fevil.example",
        "/%5Cevil.example", "javascript:alert(1)", "/x\r\nLocation: https://evil.example", "cases", "",
        "/%0d%0aSet-Cookie:x", "/ cases", "/\u{202E}x",
    ])
    func refusesEverythingElse(target: String) {
        #expect(SafeRedirect.validate(target) == nil)
    }
}

@Suite struct PolicyTests {
    @Test func sessionsEndAfterIdleOrAbsoluteLimit() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(!SessionLifetime.isExpired(createdAt: start, lastSeenAt: start, now: start.addingTimeInterval(14 * 60 + 59)))
        #expect(SessionLifetime.isExpired(createdAt: start, lastSeenAt: start, now: start.addingTimeInterval(15 * 60)))
        let active = start.addingTimeInterval(12 * 3600 - 60)
        #expect(!SessionLifetime.isExpired(createdAt: start, lastSeenAt: active, now: active.addingTimeInterval(59)))
        #expect(SessionLifetime.isExpired(createdAt: start, lastSeenAt: active, now: active.addingTimeInterval(60)))
    }

    @Test func passwordPolicyLengthAndEmailName() throws {
        let email = try EmailAddress("jordan.miles@example.com")
        #expect(throws: ValidationError.self) { try PasswordPolicy.check("short-pass", email: email) }
        #expect(throws: ValidationError.self) { try PasswordPolicy.check(String(repeating: "x", count: 129), email: email) }
        #expect(throws: ValidationError.self) { try PasswordPolicy.check("my-JORDAN.MILES-secret", email: email) }
        try PasswordPolicy.check("correct horse battery", email: email)
    }
}

import Foundation

@Suite struct FormFieldTests {
    func field(_ name: String, _ body: String) -> String? { FormField.first(named: name, in: Array(body.utf8)) }

    @Test func findsTheFieldWhereverItIs() {
        #expect(field("_csrf", "_csrf=abc-_9&body=Hello") == "abc-_9")
        #expect(field("_csrf", "body=Hello&_csrf=tok") == "tok")
        #expect(field("_csrf", "a=1&_csrf=first&_csrf=second") == "first")
        #expect(field("_csrf", "_csrf=") == "")
    }

    @Test func decodesPlusAndPercentEscapes() {
        #expect(field("body", "body=a+b%26c%3D%C3%A9") == "a b&c=é")
    }

    @Test func aNameOnlyMatchesWhole() {
        #expect(field("_csrf", "x_csrf=no&_csrfx=no") == nil)
        #expect(field("_csrf", "_csrf") == nil, "a name without a value")
        #expect(field("_csrf", "") == nil)
        #expect(field("_csrf", "body=%5Fcsrf%3Dno") == nil, "an escaped name inside another value")
    }

    @Test func brokenEscapesAndBadUTF8AreNoValue() {
        #expect(field("_csrf", "_csrf=%4") == nil)
        #expect(field("_csrf", "_csrf=%zz") == nil)
        #expect(field("_csrf", "_csrf=%FF%FE") == nil)
    }
}

@Suite struct DisplayDateTests {
    static let foundation = Date.FormatStyle(date: .abbreviated, time: .shortened, locale: Locale(identifier: "en_US_POSIX"),
                                             timeZone: TimeZone(identifier: "UTC")!)

    @Test func matchesFoundationsStyleEverywhere() {
        var generator = SystemRandomNumberGenerator()
        var moments: [Double] = [0, -1, 59.999, 60, 43_199, 43_200, 86_399, 951_782_400 /* 2000-02-29 */, 4_107_542_400 /* 2100-03-01 */,
                                 1_795_000_000, -2_208_988_800 /* 1900-01-01 */]
        for _ in 0..<5_000 { moments.append(Double.random(in: -3_000_000_000...5_000_000_000, using: &generator)) }
        for moment in moments {
            let date = Date(timeIntervalSince1970: moment)
            #expect(DisplayDate.utc(secondsSince1970: moment) == date.formatted(Self.foundation) + " UTC", "\(moment)")
        }
    }
}
