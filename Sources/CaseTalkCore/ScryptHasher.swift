import Crypto
import CryptoExtras
import Foundation

/// Password hashing with scrypt, stored as a self-describing string:
/// `$scrypt$ln=14,r=8,p=5$<salt, base64>$<key, base64>`.
///
/// The parameters travel with each hash, so they can be raised later: `needsRehash` tells the
/// sign-in code to re-hash with the current parameters once the password is known to be right.
/// The whole password is hashed; nothing is truncated.
public struct ScryptHasher: Sendable {
    public struct Parameters: Equatable, Sendable {
        public var logN: Int, r: Int, p: Int
        public var saltBytes = 16
        public var keyBytes = 32
        public init(logN: Int, r: Int, p: Int) { self.logN = logN; self.r = r; self.p = p }

        /// SPEC §5: N = 2^14, r = 8, p = 5.
        public static let standard = Parameters(logN: 14, r: 8, p: 5)
        /// Cheap parameters for the test suite only; the format is the same.
        public static let testing = Parameters(logN: 4, r: 8, p: 1)
    }

    public let parameters: Parameters
    public init(parameters: Parameters = .standard) { self.parameters = parameters }

    public func hash(_ password: String) throws -> String {
        let salt = SecureRandom.bytes(parameters.saltBytes)
        let key = try Self.derive(password, salt: salt, parameters)
        return "$scrypt$ln=\(parameters.logN),r=\(parameters.r),p=\(parameters.p)$"
            + Data(salt).base64EncodedString() + "$" + Data(key).base64EncodedString()
    }

    /// True when `password` matches `encoded`. A malformed `encoded` never matches.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard let stored = Self.parse(encoded),
              let key = try? Self.derive(password, salt: stored.salt, stored.parameters) else { return false }
        return ConstantTime.equal(key, stored.key)
    }

    /// True when `encoded` was made with other parameters than this hasher's.
    public func needsRehash(_ encoded: String) -> Bool {
        guard let stored = Self.parse(encoded) else { return true }
        return stored.parameters.logN != parameters.logN || stored.parameters.r != parameters.r
            || stored.parameters.p != parameters.p || stored.key.count != parameters.keyBytes
    }

    private static func derive(_ password: String, salt: [UInt8], _ p: Parameters) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: p.keyBytes,
                                           rounds: 1 << p.logN, blockSize: p.r, parallelism: p.p)
        return key.withUnsafeBytes { Array($0) }
    }

    private static func parse(_ encoded: String) -> (parameters: Parameters, salt: [UInt8], key: [UInt8])? {
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1] == "scrypt" else { return nil }
        var values: [Substring: Int] = [:]
        for pair in fields[2].split(separator: ",") {
            let kv = pair.split(separator: "=")
            guard kv.count == 2, let n = Int(kv[1]) else { return nil }
            values[kv[0]] = n
        }
        guard let logN = values["ln"], let r = values["r"], let p = values["p"],
              (1...24).contains(logN), (1...32).contains(r), (1...32).contains(p),
              let salt = Data(base64Encoded: String(fields[3])), let key = Data(base64Encoded: String(fields[4])),
              !salt.isEmpty, !key.isEmpty else { return nil }
        var parameters = Parameters(logN: logN, r: r, p: p)
        parameters.keyBytes = key.count
        return (parameters, Array(salt), Array(key))
    }
}

public enum ConstantTime {
    /// Compares without an early exit, so the time taken does not reveal where two values differ.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    public static func equal(_ a: String, _ b: String) -> Bool { equal(Array(a.utf8), Array(b.utf8)) }
}
