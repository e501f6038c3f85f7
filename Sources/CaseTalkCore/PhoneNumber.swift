/// A phone number in E.164 form (`+14155550123`), from what a person typed (SPEC §3).
/// Without a leading `+` the number is read as a US/Canada (NANP) number: 10 digits, or 11 with a
/// leading 1. With `+`, 8 to 15 digits after a country code that does not start with 0; `+1`
/// numbers are checked against the NANP rules (area code and exchange do not start with 0 or 1).
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible {
    public let e164: String

    public init(_ raw: String) throws(ValidationError) {
        let trimmed = raw.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ValidationError("Enter a phone number.") }
        guard trimmed.utf8.count <= 40 else { throw ValidationError("That phone number is too long.") }
        var digits = ""
        var international = false
        for (index, character) in trimmed.enumerated() {
            switch character {
            // ASCII digits only: a digit with a combining mark is one Character inside "0"..."9"
            // (review L4), and other scripts' digits are not E.164.
            case "0"..."9" where character.unicodeScalars.count == 1 && character.isASCII: digits.append(character)
            case "+" where index == 0: international = true
            case " ", "-", ".", "(", ")": continue
            default: throw ValidationError("Use only digits, spaces and - ( ) . in phone numbers.")
            }
        }
        if international {
            guard (8...15).contains(digits.count), digits.first != "0" else {
                throw ValidationError("Enter an international number as + and the country code, then 7 to 14 digits.")
            }
            if digits.first == "1" { try Self.checkNANP(String(digits.dropFirst())) }
            e164 = "+" + digits
        } else {
            let national = digits.count == 11 && digits.first == "1" ? String(digits.dropFirst()) : digits
            guard national.count == 10 else {
                throw ValidationError("Enter a 10-digit US number, or an international number starting with +.")
            }
            try Self.checkNANP(national)
            e164 = "+1" + national
        }
    }

    private static func checkNANP(_ national: String) throws(ValidationError) {
        let d = Array(national)
        guard d.count == 10, d[0] >= "2", d[3] >= "2" else {
            throw ValidationError("That is not a valid US number: the area code and the next three digits cannot start with 0 or 1.")
        }
    }

    /// The last two digits only, for logs, the audit trail and "we sent a code to •• 23".
    public var masked: String { "••" + e164.suffix(2) }

    public var description: String { masked }
}

/// The one-time codes of SPEC §3: six digits, uniformly random, kept only as an HMAC.
public enum VerificationCode {
    public static let digits = 6

    /// A code from the secure random source. Rejection sampling keeps every code equally likely
    /// (plain `% 1_000_000` of 32 random bits would favour low codes slightly).
    public static func generate() -> String {
        let limit = UInt32.max - UInt32.max % 1_000_000
        while true {
            let bytes = SecureRandom.bytes(4)
            let value = bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if value < limit { return pad(value % 1_000_000) }
        }
    }

    static func pad(_ value: UInt32) -> String {
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// True for exactly six ASCII digits.
    public static func isWellFormed(_ code: String) -> Bool {
        code.utf8.count == digits && code.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}
