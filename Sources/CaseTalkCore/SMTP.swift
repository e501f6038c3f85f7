import Foundation

/// Where and how to reach the mail server, from `SMTP_URL` (SPEC §6):
/// `smtp://[user:pass@]host[:port][?tls=required]` — STARTTLS when the server offers it
/// (required with `tls=required`, and always in production); `?tls=off` — no TLS, for a relay on
/// this machine; `smtps://…` — TLS from the first byte.
/// `?ca=/path/to/ca.pem` trusts an extra certificate authority (a private mail relay).
public struct SMTPSettings: Equatable, Sendable {
    public enum Security: Equatable, Sendable { case startTLSIfOffered, startTLSRequired, implicitTLS, plain }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    public var caFile: String?

    public init(url raw: String) throws(ValidationError) {
        guard let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            throw ValidationError("SMTP_URL must look like smtp://user:pass@host:port or smtps://host:port.")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name.lowercased(), $0.value ?? "") }, uniquingKeysWith: { $1 })
        switch scheme {
        case "smtp":
            switch query["tls"]?.lowercased() {
            case nil, "": security = .startTLSIfOffered
            case "required": security = .startTLSRequired
            case "off": security = .plain
            default: throw ValidationError("SMTP_URL: tls= must be required or off.")
            }
        case "smtps": security = .implicitTLS
        default: throw ValidationError("SMTP_URL must start with smtp:// or smtps://.")
        }
        self.host = host
        self.port = components.port ?? (scheme == "smtps" ? 465 : 587)
        self.username = components.user?.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 }
        self.password = components.password?.removingPercentEncoding
        self.caFile = query["ca"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Production (review M6): STARTTLS is never optional, since a man in the middle can strip the
    /// offer; a URL that asks for no TLS is refused unless the relay is on this machine.
    public func forProduction() throws(ValidationError) -> SMTPSettings {
        var settings = self
        switch security {
        case .startTLSIfOffered: settings.security = .startTLSRequired
        case .plain where !EnvironmentRule.isLoopback(host):
            throw ValidationError("?tls=off is only for a mail relay on this machine (127.0.0.1, ::1 or localhost); "
                                  + "in production mail to another machine goes over TLS.")
        default: break
        }
        return settings
    }
}

/// One reply from an SMTP server: a code and its text lines (a multi-line reply has several).
public struct SMTPReply: Equatable, Sendable {
    public let code: Int
    public let lines: [String]
    /// The EHLO extension keywords (`STARTTLS`, `AUTH PLAIN LOGIN`, …), upper-cased.
    public var extensions: [String] { lines.dropFirst().map { $0.uppercased() } }
}

/// Collects reply lines (`250-first`, `250-second`, `250 last`) into replies.
public struct SMTPReplyParser: Sendable {
    private var code: Int?
    private var lines: [String] = []
    public init() {}

    public enum ParseError: Error, Equatable { case malformed, mixedCodes }

    /// Feeds one line without its CRLF; returns the reply once its last line has arrived.
    public mutating func feed(_ line: String) throws(ParseError) -> SMTPReply? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, bytes[0...2].allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let lineCode = Int(String(decoding: bytes[0...2], as: UTF8.self)) else { throw .malformed }
        let separator: UInt8 = bytes.count > 3 ? bytes[3] : 32
        guard separator == 32 || separator == 45 else { throw .malformed }
        if let code, code != lineCode { throw .mixedCodes }
        code = lineCode
        lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        guard separator == 32 else { return nil }
        defer { code = nil; lines = [] }
        return SMTPReply(code: lineCode, lines: lines)
    }
}

/// An email ready to be written as RFC 5322 text.
public struct EmailMessage: Equatable, Sendable, Codable {
    public var from: String
    public var to: String
    public var subject: String
    public var text: String
    public var html: String

    public init(from: String, to: String, subject: String, text: String, html: String) {
        self.from = from; self.to = to; self.subject = subject; self.text = text; self.html = html
    }

    /// The bare address of `to` / `from` (`Name <a@b>` → `a@b`).
    public static func address(of mailbox: String) -> String {
        if let open = mailbox.lastIndex(of: "<"), let close = mailbox.lastIndex(of: ">"), open < close {
            return String(mailbox[mailbox.index(after: open)..<close])
        }
        return mailbox.trimmingWhitespace()
    }

    /// The message as sent: headers, a multipart/alternative body with a plain-text and an HTML
    /// part (base64, so any text is safe on the wire), CRLF line ends, no dot-stuffing yet.
    /// Header values lose any CR or LF, so nothing can be injected into the headers.
    public func rendered(date: Date, messageID: String) -> String {
        let boundary = "=_casetalk_" + messageID.filter { $0.isLetter || $0.isNumber }
        var out: [String] = [
            "From: " + Self.headerSafe(from),
            "To: " + Self.headerSafe(to),
            "Subject: " + Self.encodedWord(Self.headerSafe(subject)),
            "Date: " + Self.rfc5322Date(date),
            "Message-ID: <" + Self.headerSafe(messageID) + ">",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "--" + boundary,
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        out += Self.base64Lines(text)
        out += ["", "--" + boundary, "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", ""]
        out += Self.base64Lines(html)
        out += ["", "--" + boundary + "--", ""]
        return out.joined(separator: "\r\n")
    }

    static func headerSafe(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0.value != 0 }.map(Character.init))
    }

    static func encodedWord(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { !$0.isASCII }) else { return value }
        return "=?UTF-8?B?" + Data(value.utf8).base64EncodedString() + "?="
    }

    static func base64Lines(_ text: String) -> [String] {
        let normalized = text.replacingCRLF().split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        let encoded = Data(normalized.utf8).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { start in
            let from = encoded.index(encoded.startIndex, offsetBy: start)
            let to = encoded.index(from, offsetBy: min(76, encoded.count - start))
            return String(encoded[from..<to])
        }
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

public enum SMTPText {
    /// Dot-stuffing for the DATA phase (RFC 5321 §4.5.2): a line that starts with "." gets another.
    public static func dotStuffed(_ message: String) -> String {
        message.split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }
            .joined(separator: "\r\n")
    }
}
