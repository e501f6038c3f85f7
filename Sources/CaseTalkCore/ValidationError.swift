/// A problem with something a person typed. The message is safe to show them: it never repeats
/// the input back.
public struct ValidationError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Field name → message, in the order the form shows the fields.
public struct FieldErrors: Error, Equatable, Sendable {
    public private(set) var messages: [(field: String, message: String)] = []
    public init() {}
    public var isEmpty: Bool { messages.isEmpty }
    public subscript(field: String) -> String? { messages.first { $0.field == field }?.message }
    public mutating func add(_ field: String, _ message: String) { messages.append((field, message)) }
    /// Field → its first message, for templates that show each message beside its field.
    public var byField: [String: String] {
        messages.reduce(into: [:]) { out, entry in if out[entry.field] == nil { out[entry.field] = entry.message } }
    }

    public static func == (lhs: FieldErrors, rhs: FieldErrors) -> Bool {
        lhs.messages.map(\.field) == rhs.messages.map(\.field)
            && lhs.messages.map(\.message) == rhs.messages.map(\.message)
    }
}
