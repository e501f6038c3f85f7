import CaseTalkCore

/// A piece of HTML, built with Swift's string interpolation (issue 17).
///
/// - Literal segments are `StaticString`s, written in the source, and are appended as they are.
/// - Every interpolated `String` is escaped (`& < > " '`), so it is safe in element text and in
///   quoted attribute values; a NUL becomes U+FFFD, as a browser would read it.
/// - Other `HTML` is appended as it is: it was escaped when it was made.
/// - There is no catch-all interpolation: a date, a number, an optional or a model does not
///   compile until a named formatter or component turns it into a `String` or `HTML`.
/// - Markup that is not a literal enters only through `HTML(trustedMarkup:)`, never with data.
///
/// The bytes are UTF-8, kept in one buffer that grows as a page is written, so a page becomes a
/// response body without an intermediate string per element.
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation {
    public private(set) var bytes: [UInt8]

    public init() { bytes = [] }

    public init(stringLiteral literal: StaticString) {
        bytes = []
        Self.append(literal, to: &bytes)
    }

    public init(stringInterpolation: StringInterpolation) { bytes = stringInterpolation.bytes }

    /// Markup that is not a literal: what `CaseTalkViews` builds from literals, or a file shipped
    /// with the product. Never text that came from a person or the database.
    public init(trustedMarkup markup: String) { bytes = Array(markup.utf8) }

    /// The UTF-8 text (for tests and for emails, whose parts are strings).
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func append(_ other: HTML) { bytes.append(contentsOf: other.bytes) }

    /// Several pieces one after another.
    public init(joining pieces: some Sequence<HTML>) {
        bytes = []
        for piece in pieces { bytes.append(contentsOf: piece.bytes) }
    }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        public typealias StringLiteralType = StaticString
        var bytes: [UInt8]

        public init(literalCapacity: Int, interpolationCount: Int) {
            bytes = []
            bytes.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        public mutating func appendLiteral(_ literal: StaticString) { HTML.append(literal, to: &bytes) }

        /// Text: escaped.
        public mutating func appendInterpolation(_ text: String) { HTML.escape(text, into: &bytes) }

        /// Markup made earlier: as it is.
        public mutating func appendInterpolation(_ html: HTML) { bytes.append(contentsOf: html.bytes) }

        /// A list of pieces, one after another.
        public mutating func appendInterpolation(_ pieces: [HTML]) {
            for piece in pieces { bytes.append(contentsOf: piece.bytes) }
        }
    }

    static func append(_ literal: StaticString, to bytes: inout [UInt8]) {
        if literal.hasPointerRepresentation {
            bytes.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
        } else {
            bytes.append(contentsOf: String(literal.unicodeScalar).utf8)
        }
    }

    /// Escapes UTF-8 byte by byte: the five special characters are ASCII, so no multi-byte
    /// sequence is ever split or changed.
    static func escape(_ text: String, into bytes: inout [UInt8]) {
        // Most text has nothing to escape: then it goes in whole.
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
                                        || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") || $0 == 0 }) {
            bytes.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): bytes.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])               // &amp;
            case UInt8(ascii: "<"): bytes.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])                     // &lt;
            case UInt8(ascii: ">"): bytes.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])                     // &gt;
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])        // &quot;
            case UInt8(ascii: "'"): bytes.append(contentsOf: [0x26, 0x23, 0x33, 0x39, 0x3B])               // &#39;
            case 0: bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])                                           // U+FFFD
            default: bytes.append(byte)
            }
        }
    }
}

extension HTML.StringInterpolation {
    /// A link or form target: the typed path, escaped for its quoted attribute.
    public mutating func appendInterpolation(_ path: Paths) { HTML.escape(path.path, into: &bytes) }

    /// A file under `Public/`.
    public mutating func appendInterpolation(_ asset: Asset) { HTML.escape(asset.rawValue, into: &bytes) }

    /// A whole number, in digits.
    public mutating func appendInterpolation(number: Int) { bytes.append(contentsOf: String(number).utf8) }

    /// A literal from the source (a field's name, say), as it is.
    public mutating func appendInterpolation(literal: StaticString) { HTML.append(literal, to: &bytes) }
}

extension HTML {
    /// `html` when `condition` holds, nothing otherwise.
    public static func when(_ condition: Bool, _ html: @autoclosure () -> HTML) -> HTML { condition ? html() : HTML() }

    /// The pieces made from each element, one after another.
    public static func each<S: Sequence>(_ items: S, _ piece: (S.Element) -> HTML) -> HTML {
        var out = HTML()
        for item in items { out.append(piece(item)) }
        return out
    }
}
