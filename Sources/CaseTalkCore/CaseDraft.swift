/// The validated content of the New Case form.
public struct CaseDraft: Equatable, Sendable {
    public var patientFirstName: String
    public var patientLastName: String
    public var patientDateOfBirth: CalendarDate?
    public var patientEmail: EmailAddress?
    public var title: String
    public var notes: String?

    public struct Input: Sendable {
        public var firstName, lastName, dateOfBirth, patientEmail, title, notes: String?
        public init(firstName: String? = nil, lastName: String? = nil, dateOfBirth: String? = nil,
                    patientEmail: String? = nil, title: String? = nil, notes: String? = nil) {
            self.firstName = firstName; self.lastName = lastName; self.dateOfBirth = dateOfBirth
            self.patientEmail = patientEmail; self.title = title; self.notes = notes
        }
    }

    /// Validates every field and reports all problems at once.
    public static func validate(_ input: Input, today: CalendarDate) -> Result<CaseDraft, FieldErrors> {
        var errors = FieldErrors()
        func check<T>(_ field: String, _ body: () throws(ValidationError) -> T?) -> T? {
            do { return try body() } catch { errors.add(field, error.message); return nil }
        }
        let first = check("first_name") { () throws(ValidationError) in try TextInput.singleLine(input.firstName, label: "patient's first name", maxLength: 100) }
        let last = check("last_name") { () throws(ValidationError) in try TextInput.singleLine(input.lastName, label: "patient's last name", maxLength: 100) }
        let dob = check("date_of_birth") { () throws(ValidationError) -> CalendarDate? in
            guard let raw = input.dateOfBirth?.trimmingWhitespace(), !raw.isEmpty else { return nil }
            guard let date = CalendarDate(iso: raw) else { throw ValidationError("Enter the date of birth as YYYY-MM-DD.") }
            guard date <= today, date.year >= 1900 else { throw ValidationError("Enter a date of birth between 1900 and today.") }
            return date
        }
        let email = check("patient_email") { () throws(ValidationError) -> EmailAddress? in
            guard let raw = input.patientEmail, !raw.trimmingWhitespace().isEmpty else { return nil }
            return try EmailAddress(raw)
        }
        let title = check("title") { () throws(ValidationError) in try TextInput.singleLine(input.title, label: "case title", maxLength: 200) }
        let notes = check("notes") { () throws(ValidationError) in try TextInput.multiLine(input.notes, label: "notes", maxLength: 5000) }
        guard errors.isEmpty, let first, let last, let title else { return .failure(errors) }
        return .success(CaseDraft(patientFirstName: first, patientLastName: last, patientDateOfBirth: dob,
                                  patientEmail: email, title: title, notes: notes))
    }
}

/// A date without a time zone (a date of birth), written YYYY-MM-DD.
public struct CalendarDate: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let year: Int, month: Int, day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
              day <= CalendarDate.daysIn(month: month, year: year) else { return nil }
        self.year = year; self.month = month; self.day = day
    }

    public init?(iso: String) {
        let parts = iso.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// A date as a person types it: YYYY-MM-DD (what a date field sends) or MM/DD/YYYY (the US
    /// order, which the field shows), with or without leading zeros in the month and day.
    public init?(typed text: String) {
        let text = text.trimmingWhitespace()
        if let iso = CalendarDate(iso: text) { self = iso; return }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].count == 4, (1...2).contains(parts[0].count), (1...2).contains(parts[1].count),
              parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }),
              let m = Int(parts[0]), let d = Int(parts[1]), let y = Int(parts[2]) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public var description: String {
        func pad(_ n: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(n).count)) + String(n) }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
