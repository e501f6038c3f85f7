import Crypto
import Foundation

/// Seals data at rest with AES-256-GCM under `CASETALK_DATA_KEY` (SPEC §5). The caller's context
/// (what the value belongs to) is bound in as associated data, so a sealed value copied to another
/// row does not open. Output: key id + `:` + base64(nonce ‖ ciphertext ‖ tag). The key id names
/// the key (a digest of it, never the key), so after a rotation values sealed under an earlier
/// key (`CASETALK_PREVIOUS_DATA_KEYS`) still open until `casetalk keys rotate` re-seals them.
public struct Sealer: Sendable {
    /// The id every value was sealed with before keys had ids of their own: any key may open it.
    public static let legacyKeyID = "k1"
    /// The id of the key new values are sealed with.
    public let currentKeyID: String
    private let current: SymmetricKey
    private let ring: [String: SymmetricKey]

    public init(key: [UInt8], previous: [[UInt8]] = []) {
        precondition(key.count == 32 && previous.allSatisfy { $0.count == 32 }, "data keys are 32 bytes")
        current = SymmetricKey(data: key)
        currentKeyID = Self.keyID(of: key)
        var ring: [String: SymmetricKey] = [:]
        for old in previous { ring[Self.keyID(of: old)] = SymmetricKey(data: old) }
        ring[currentKeyID] = current
        self.ring = ring
    }

    /// `d` + the first 12 hex digits of a SHA-256 of the key under a label: names it, reveals nothing.
    public static func keyID(of key: [UInt8]) -> String {
        "d" + Digest.hex(SHA256.hash(data: Array("casetalk data key id".utf8) + key).prefix(6))
    }

    public func seal(_ plaintext: [UInt8], context: String) throws -> String {
        let box = try AES.GCM.seal(plaintext, using: current, authenticating: Array(context.utf8))
        guard let combined = box.combined else { throw SealError.sealFailed }
        return currentKeyID + ":" + combined.base64EncodedString()
    }

    public func open(_ sealed: String, context: String) throws -> [UInt8] {
        let parts = sealed.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let data = Data(base64Encoded: String(parts[1])) else { throw SealError.unknownFormat }
        let box = try AES.GCM.SealedBox(combined: data)
        let id = String(parts[0])
        if id == Self.legacyKeyID {
            for key in ring.values {
                if let opened = try? AES.GCM.open(box, using: key, authenticating: Array(context.utf8)) { return Array(opened) }
            }
            throw SealError.noKey
        }
        guard let key = ring[id] else { throw SealError.noKey }
        return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
    }

    /// Whether `sealed` is sealed under the current key (`keys rotate` re-seals the rest).
    public func isCurrent(_ sealed: String) -> Bool { sealed.hasPrefix(currentKeyID + ":") }

    public enum SealError: Error { case sealFailed, unknownFormat, noKey }
}

/// What a message body is bound to (review L7): its id, its conversation and which side wrote it,
/// so a body moved to another conversation, or given to the other side, does not open.
public enum MessageSeal {
    public static func context(messageID: UUID, conversationID: UUID, author: String) -> String {
        context(messageID: messageID.uuidString, conversationID: conversationID.uuidString, author: author)
    }

    /// The same, from the ids as text (`UUID.uuidString`, as both engines give them back): a
    /// thread page opens 50 bodies, and parsing and printing each id again cost a twentieth of it.
    public static func context(messageID: String, conversationID: String, author: String) -> String {
        "message:\(messageID)|conversation:\(conversationID)|author:\(author)"
    }
}
