import Crypto
import Foundation

/// SPEC §3's limits on verification codes.
public enum CodeLimits {
    /// A code works for 10 minutes, once.
    public static let lifetime: TimeInterval = 10 * 60
    /// Re-Send Code waits 30 seconds between sends.
    public static let resendInterval: TimeInterval = 30
    /// At most 5 sends per number per 10 minutes.
    public static let sendsPerNumber = 5
    public static let sendWindow: TimeInterval = 10 * 60
    /// A code dies after 5 wrong tries.
    public static let triesPerCode = 5
    /// 10 wrong codes in a row lock verification for 15 minutes, doubling on each further lock.
    public static let wrongInARowBeforeLock = 10
    public static let firstLock: TimeInterval = 15 * 60

    /// Whole seconds until Re-Send Code may be used again after a send at `lastSentAt` (0 when it may).
    public static func secondsUntilNextSend(lastSentAt: Date?, now: Date) -> Int {
        guard let lastSentAt else { return 0 }
        return max(0, Int((resendInterval - now.timeIntervalSince(lastSentAt)).rounded(.up)))
    }

    /// The lock stops doubling after this many locks (15 minutes × 2^10, about 10 days).
    public static let maxLockDoublings = 10

    public static func lockDuration(previousLocks: Int) -> TimeInterval {
        firstLock * pow(2, Double(min(previousLocks, maxLockDoublings)))
    }
}

/// Codes are stored only as an HMAC bound to their holder (a registration's invitation id, or a
/// password reset), under a key derived from the data key: a copy of the database does not reveal
/// them, and a code cannot be moved to another registration or reset.
public struct CodeHasher: Sendable {
    private let key: SymmetricKey

    public init(dataKey: [UInt8]) {
        key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: dataKey),
                                     info: Array("casetalk verification codes".utf8), outputByteCount: 32)
    }

    public func hash(_ code: String, scope: String) -> String {
        Data(mac(code, scope: scope)).base64EncodedString()
    }

    /// The same HMAC as a 43-character base64url token (a visitor's CSRF token).
    public func token(_ text: String, scope: String) -> String {
        SecureRandom.base64URL(mac(text, scope: scope))
    }

    private func mac(_ text: String, scope: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array("\(scope):\(text)".utf8), using: key))
    }
}
