/// A syntactically valid email address, trimmed and lower-cased.
///
/// The rules are deliberately conservative (a practical subset of RFC 5321): one `@`, a local part
/// of at most 64 characters from the unquoted "atext" set with single dots, a domain of at least two
/// labels made of letters, digits and hyphens. Anything with white space or control characters is
/// rejected, which also rules out header injection when the address is later written into an email.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init(_ raw: String) throws(ValidationError) {
        let trimmed = raw.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ValidationError("Enter an email address.") }
        guard trimmed.utf8.count <= 254 else { throw ValidationError("That email address is too long.") }
        let lowered = trimmed.lowercased()
        let parts = lowered.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, Self.isValidLocal(parts[0]), Self.isValidDomain(parts[1]) else {
            throw ValidationError("Enter a valid email address, like name@example.com.")
        }
        self.value = lowered
    }

    /// The part before the `@`, used by the password policy.
    public var localPart: String { String(value.split(separator: "@")[0]) }

    public var description: String { value }

    /// The address as colleagues see it (SPEC §3): the first character, then the domain, as in
    /// `j•••@patient.test`.
    public var masked: String { Self.masked(value) }

    /// `masked` for stored text; a value without an `@` shows nothing of itself.
    public static func masked(_ stored: String) -> String {
        guard let at = stored.firstIndex(of: "@"), at > stored.startIndex else { return "•••" }
        return String(stored[stored.startIndex]) + "•••" + stored[at...]
    }

    private static let localAllowed = Set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-.".utf8)

    private static func isValidLocal(_ local: Substring) -> Bool {
        guard (1...64).contains(local.utf8.count), local.first != ".", local.last != ".",
              !local.contains("..") else { return false }
        return local.utf8.allSatisfy { localAllowed.contains($0) }
    }

    private static func isValidDomain(_ domain: Substring) -> Bool {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, domain.utf8.count <= 253 else { return false }
        return labels.allSatisfy { label in
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            return label.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
        } && labels.last!.utf8.contains { $0 >= 97 && $0 <= 122 }
    }
}
