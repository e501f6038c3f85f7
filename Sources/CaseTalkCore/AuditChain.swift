import Crypto
import Foundation

/// One audit trail entry as it is chained. Each entry's hash is an HMAC, under the audit key
/// (`CASETALK_AUDIT_KEY`, kept apart from the database), over its fields and the previous entry's
/// hash: someone who can write the database but does not hold the key cannot change, insert,
/// remove or reorder an entry without `audit verify` finding the break (SPEC §5).
public struct AuditRecord: Equatable, Sendable {
    public var sequence: Int64
    public var occurredAtMillis: Int64
    public var actorKind: String
    public var actorID: String
    public var action: String
    /// Ids only, never names, message text or contact details.
    public var subject: String
    public var clientAddress: String
    /// The browser's User-Agent where the entry records one (Terms acceptance): a field of its
    /// own, so attacker-chosen text never sits in the subject.
    public var userAgent: String

    public init(sequence: Int64, occurredAtMillis: Int64, actorKind: String, actorID: String,
                action: String, subject: String, clientAddress: String, userAgent: String = "") {
        self.sequence = sequence; self.occurredAtMillis = occurredAtMillis; self.actorKind = actorKind
        self.actorID = actorID; self.action = action; self.subject = subject; self.clientAddress = clientAddress
        self.userAgent = userAgent
    }

    /// Each field is length-prefixed so that no two different records serialise alike.
    public func chainHash(previous: String, key: AuditKey) -> String {
        key.mac(Self.serialise(["v2", previous, String(sequence), String(occurredAtMillis), actorKind, actorID,
                                action, subject, clientAddress, userAgent]))
    }

    /// The chain before it was keyed (migration 024 checks old trails with it, then re-chains them).
    public func unkeyedHash(previous: String) -> String {
        Digest.sha256Hex(Self.serialise([previous, String(sequence), String(occurredAtMillis), actorKind, actorID,
                                         action, subject, clientAddress]))
    }

    static func serialise(_ fields: [String]) -> String {
        fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|")
    }
}

/// The audit key: 32 bytes that only the server and whoever verifies the trail hold.
public struct AuditKey: Sendable {
    private let key: SymmetricKey
    public init(_ bytes: [UInt8]) { key = SymmetricKey(data: bytes) }

    /// Lower-case hex HMAC-SHA256 of the UTF-8 text.
    public func mac(_ text: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// "At this time the trail had this many entries, the last with this hash", signed with the
/// audit key. The server writes one to its log every minute the trail grew; `audit verify --head`
/// given one notices entries cut from the end even if the database's own head row was moved back.
public struct SignedAuditHead: Equatable, Sendable {
    public var sequence: Int64
    public var hash: String
    public var writtenAtMillis: Int64
    public var signature: String

    public static let marker = "casetalk-audit-head"

    public init(sequence: Int64, hash: String, writtenAtMillis: Int64, key: AuditKey) {
        self.sequence = sequence; self.hash = hash; self.writtenAtMillis = writtenAtMillis
        signature = key.mac(Self.signed(sequence, hash, writtenAtMillis))
    }

    private init(sequence: Int64, hash: String, writtenAtMillis: Int64, signature: String) {
        self.sequence = sequence; self.hash = hash; self.writtenAtMillis = writtenAtMillis; self.signature = signature
    }

    private static func signed(_ sequence: Int64, _ hash: String, _ at: Int64) -> String {
        AuditRecord.serialise([marker, String(sequence), hash, String(at)])
    }

    /// One word, so it survives any log format: `casetalk-audit-head:SEQ:HASH:MILLIS:SIGNATURE`.
    public var token: String { "\(Self.marker):\(sequence):\(hash):\(writtenAtMillis):\(signature)" }

    public func isSigned(by key: AuditKey) -> Bool {
        ConstantTime.equal(signature, key.mac(Self.signed(sequence, hash, writtenAtMillis)))
    }

    /// Every head token in a text (a log file, a pasted line), in the order they appear.
    public static func all(in text: String) -> [SignedAuditHead] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\"" || $0 == "=" || $0 == "," })
            .compactMap { word in
                let parts = word.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 5, parts[0] == marker, let sequence = Int64(parts[1]), sequence >= 0,
                      let at = Int64(parts[3]), parts[2].count == 64, parts[4].count == 64 else { return nil }
                return SignedAuditHead(sequence: sequence, hash: String(parts[2]), writtenAtMillis: at, signature: String(parts[4]))
            }
    }
}

public enum AuditChain {
    /// The `previous` value of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    public enum Verdict: Equatable, Sendable {
        case intact(entries: Int)
        /// The first entry whose stored hashes do not match the recomputed chain.
        case broken(atSequence: Int64)
        /// A signed head names an entry the trail no longer has: entries were cut from the end.
        case truncated(missingFrom: Int64)
    }

    /// Recomputes the chain over entries in sequence order.
    public static func verify(_ entries: some Sequence<(record: AuditRecord, previousHash: String, hash: String)>,
                              key: AuditKey) -> Verdict {
        var verifier = Verifier(key: key)
        for entry in entries {
            if let broken = verifier.check(entry.record, previousHash: entry.previousHash, hash: entry.hash) { return broken }
        }
        return verifier.verdict
    }

    /// Checks a chain one entry at a time, so a long trail can be read in pages. Given signed
    /// heads, it also checks that each one's entry is in the chain with the hash it was signed with.
    public struct Verifier: Sendable {
        public private(set) var lastHash = AuditChain.genesis
        public private(set) var lastSequence: Int64 = 0
        public private(set) var count = 0
        private let key: AuditKey
        private let heads: [Int64: String]

        /// Heads must be signed with `key` (check `isSigned(by:)` first).
        public init(key: AuditKey, heads: [SignedAuditHead] = []) {
            self.key = key
            var bySequence: [Int64: String] = [:]
            for head in heads where head.sequence > 0 { bySequence[head.sequence] = head.hash }
            self.heads = bySequence
        }

        /// Nil while the chain holds; the verdict `.broken` at the first entry that does not fit.
        public mutating func check(_ record: AuditRecord, previousHash: String, hash: String) -> Verdict? {
            guard record.sequence == lastSequence + 1, previousHash == lastHash,
                  ConstantTime.equal(record.chainHash(previous: lastHash, key: key), hash),
                  heads[record.sequence].map({ $0 == hash }) ?? true else {
                return .broken(atSequence: record.sequence)
            }
            lastHash = hash
            lastSequence = record.sequence
            count += 1
            return nil
        }

        /// After the last entry: intact, unless a signed head names a later entry.
        public var verdict: Verdict {
            if let furthest = heads.keys.max(), furthest > lastSequence { return .truncated(missingFrom: lastSequence + 1) }
            return .intact(entries: count)
        }
    }
}
