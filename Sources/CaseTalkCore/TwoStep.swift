import Crypto
import Foundation

/// Base32 of RFC 4648 (upper case, no padding): how an authenticator app takes a TOTP key typed
/// by hand or read from an `otpauth://` URI.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[(buffer >> bits) & 31])
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for anything but base32 letters (spaces and lower case are accepted, as people type them).
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for char in text.uppercased().utf8 where char != 32 {
            guard let value = alphabet.firstIndex(of: char) else { return nil }
            buffer = ((buffer << 5) | value) & 0xFFFF
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> bits) & 0xFF))
            }
        }
        return out
    }
}

/// Time-based one-time passwords as SPEC §9 fixes them: RFC 6238 with HMAC-SHA-1, 6 digits,
/// 30-second steps, one step of drift either way, and a code never accepted twice (the caller
/// keeps the last step used and passes it back).
public enum TOTP {
    public static let stepLength: TimeInterval = 30
    public static let digits = 6
    /// Steps accepted either side of now.
    public static let drift: Int64 = 1
    /// 160 bits, the length of an HMAC-SHA-1 key (RFC 4226 §4 asks at least 128).
    public static let keyLength = 20

    public static func newKey() -> [UInt8] { SecureRandom.bytes(keyLength) }

    /// The step number of `date` (T in RFC 6238, with T0 = 0).
    public static func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / stepLength).rounded(.down))
    }

    /// The code of one step (RFC 4226 HOTP with the step as the counter).
    public static func code(key: [UInt8], step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Array($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let value = binary % 1_000_000
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// Six digits, after dropping the spaces people type or paste.
    public static func normalized(_ typed: String) -> String? {
        let code = typed.filter { $0 != " " && $0 != "-" }
        guard code.utf8.count == digits, code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return code
    }

    /// The step a typed code belongs to, among now and one step either side, that is later than
    /// `lastUsed` (so a code, or an older one, is never taken twice); nil when none matches.
    /// Every candidate is compared in constant time.
    public static func matchingStep(_ typed: String, key: [UInt8], at date: Date, after lastUsed: Int64?) -> Int64? {
        guard let code = normalized(typed) else { return nil }
        let now = step(at: date)
        var found: Int64?
        for candidate in (now - drift)...(now + drift) where candidate > (lastUsed ?? Int64.min) {
            if constantTimeEqual(Array(code.utf8), Array(Self.code(key: key, step: candidate).utf8)), found == nil {
                found = candidate
            }
        }
        return found
    }

    /// What an authenticator app reads from the set-up QR code (the Key Uri Format most apps
    /// follow: label "issuer:account", the key in base32, the issuer again as a parameter).
    public static func provisioningURI(key: [UInt8], account: String, issuer: String = "CaseTalk") -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@"))
        let label = (issuer + ":" + account).addingPercentEncoding(withAllowedCharacters: allowed.union(CharacterSet(charactersIn: ":"))) ?? issuer
        let issuerParam = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? issuer
        return "otpauth://totp/\(label)?secret=\(Base32.encode(key))&issuer=\(issuerParam)"
    }

    /// The key as people type it into an app: base32 in groups of four.
    public static func grouped(_ key: [UInt8]) -> String {
        let text = Array(Base32.encode(key))
        return stride(from: 0, to: text.count, by: 4).map { String(text[$0..<min($0 + 4, text.count)]) }.joined(separator: " ")
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// The ten one-time recovery codes of SPEC §9: 80 random bits each, written as four groups of
/// four base32 letters, stored only as SHA-256 (80 bits is beyond guessing, so a fast hash is enough).
public enum RecoveryCodes {
    public static let count = 10

    public static func generate() -> [String] {
        (0..<count).map { _ in
            let letters = Array(Base32.encode(SecureRandom.bytes(10)).lowercased())
            return stride(from: 0, to: 16, by: 4).map { String(letters[$0..<$0 + 4]) }.joined(separator: "-")
        }
    }

    /// The stored form of a code as typed: case, spaces and dashes do not matter. Nil when it
    /// cannot be a recovery code.
    public static func hash(_ typed: String) -> String? {
        let letters = typed.lowercased().filter { $0 != " " && $0 != "-" }
        guard letters.utf8.count == 16, Base32.decode(letters) != nil else { return nil }
        return Digest.sha256Hex("recovery:" + letters)
    }
}
