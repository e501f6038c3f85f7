import Crypto
import Foundation

/// Seals data at rest with AES-256-GCM under `CASETALK_DATA_KEY` (SPEC §5). The caller's context
/// (a row id) is bound in as associated data, so a sealed value copied to another row does not
/// open. Output: `k1:` + base64(nonce ‖ ciphertext ‖ tag); the key id allows rotation later.
public struct Sealer: Sendable {
    public static let keyID = "k1"
    private let key: SymmetricKey

    public init(key: [UInt8]) {
        precondition(key.count == 32, "the data key is 32 bytes")
        self.key = SymmetricKey(data: key)
    }

    public func seal(_ plaintext: [UInt8], context: String) throws -> String {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8))
        guard let combined = box.combined else { throw SealError.sealFailed }
        return Self.keyID + ":" + combined.base64EncodedString()
    }

    public func open(_ sealed: String, context: String) throws -> [UInt8] {
        let parts = sealed.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == Self.keyID, let data = Data(base64Encoded: String(parts[1])) else {
            throw SealError.unknownFormat
        }
        let box = try AES.GCM.SealedBox(combined: data)
        return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
    }

    public enum SealError: Error { case sealFailed, unknownFormat }
}

public enum HTMLText {
    /// Escapes text for HTML element content and quoted attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
