import Crypto
import Foundation

/// Randomness from the operating system's cryptographic generator (via BoringSSL).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count > 0)
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            let key = SymmetricKey(size: .bits256)
            key.withUnsafeBytes { out.append(contentsOf: $0.prefix(count - out.count)) }
        }
        return out
    }

    /// 256 random bits as URL-safe base64 without padding (43 characters): session ids, link tokens.
    public static func token() -> String { base64URL(bytes(32)) }

    /// Whether `text` has the shape of a `token()`: 43 characters of base64url. Checked before a
    /// link's token is looked up.
    public static func isTokenShaped(_ text: String) -> Bool {
        text.utf8.count == 43
            && text.utf8.allSatisfy { $0 == 45 || $0 == 95 || ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }

    public static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

public enum Digest {
    /// Lower-case hex SHA-256 of the UTF-8 text: how tokens and session ids are stored.
    public static func sha256Hex(_ text: String) -> String { hex(SHA256.hash(data: Array(text.utf8))) }

    /// Bytes as lower-case hex, two digits each.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
