/// Rules for free text typed into forms.
public enum TextInput {
    /// A one-line value (names, titles): trimmed, 1...maxLength characters, no control, bidi-override
    /// or zero-width characters (they can disguise what a name says).
    public static func singleLine(_ raw: String?, label: String, maxLength: Int, required: Bool = true) throws(ValidationError) -> String? {
        let value = (raw ?? "").trimmingWhitespace()
        if value.isEmpty {
            if required { throw ValidationError("Enter the \(label).") }
            return nil
        }
        guard value.count <= maxLength else { throw ValidationError("The \(label) can be at most \(maxLength) characters.") }
        guard !value.unicodeScalars.contains(where: isDisallowed) else {
            throw ValidationError("The \(label) contains characters that are not allowed.")
        }
        return value
    }

    /// Several lines (notes, messages): line breaks and tabs are kept, other control characters rejected.
    public static func multiLine(_ raw: String?, label: String, maxLength: Int, required: Bool = false) throws(ValidationError) -> String? {
        let value = (raw ?? "").replacingCRLF().trimmingWhitespace()
        if value.isEmpty {
            if required { throw ValidationError("Enter the \(label).") }
            return nil
        }
        guard value.count <= maxLength else { throw ValidationError("The \(label) can be at most \(maxLength) characters.") }
        guard !value.unicodeScalars.contains(where: { $0 != "\n" && $0 != "\t" && isDisallowed($0) }) else {
            throw ValidationError("The \(label) contains characters that are not allowed.")
        }
        return value
    }

    static func isDisallowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true          // C0/C1 controls
        case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF: return true // zero-width, bidi
        default: return false
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }

    func replacingCRLF() -> String {
        split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
            .split(separator: "\r", omittingEmptySubsequences: false).joined(separator: "\n")
    }
}
