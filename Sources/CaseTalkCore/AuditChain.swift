/// One audit trail entry as it is hashed. The hash of each entry covers the previous entry's
/// hash, so changing, removing or reordering any stored entry breaks every hash after it.
public struct AuditRecord: Equatable, Sendable {
    public var sequence: Int64
    public var occurredAtMillis: Int64
    public var actorKind: String
    public var actorID: String
    public var action: String
    public var subject: String
    public var clientAddress: String

    public init(sequence: Int64, occurredAtMillis: Int64, actorKind: String, actorID: String,
                action: String, subject: String, clientAddress: String) {
        self.sequence = sequence; self.occurredAtMillis = occurredAtMillis; self.actorKind = actorKind
        self.actorID = actorID; self.action = action; self.subject = subject; self.clientAddress = clientAddress
    }

    /// Each field is length-prefixed so that no two different records serialise alike.
    public func chainHash(previous: String) -> String {
        let fields = [previous, String(sequence), String(occurredAtMillis), actorKind, actorID, action, subject, clientAddress]
        return Digest.sha256Hex(fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|"))
    }
}

public enum AuditChain {
    /// The `previous` value of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    public enum Verdict: Equatable, Sendable {
        case intact(entries: Int)
        /// The first entry whose stored hashes do not match the recomputed chain.
        case broken(atSequence: Int64)
    }

    /// Recomputes the chain over entries in sequence order.
    public static func verify(_ entries: some Sequence<(record: AuditRecord, previousHash: String, hash: String)>) -> Verdict {
        var verifier = Verifier()
        for entry in entries {
            if let broken = verifier.check(entry.record, previousHash: entry.previousHash, hash: entry.hash) { return broken }
        }
        return verifier.verdict
    }

    /// Checks a chain one entry at a time, so a long trail can be read in pages.
    public struct Verifier: Sendable {
        public private(set) var lastHash = AuditChain.genesis
        public private(set) var lastSequence: Int64 = 0
        public private(set) var count = 0
        public init() {}

        /// Nil while the chain holds; the verdict `.broken` at the first entry that does not fit.
        public mutating func check(_ record: AuditRecord, previousHash: String, hash: String) -> Verdict? {
            guard record.sequence == lastSequence + 1, previousHash == lastHash,
                  record.chainHash(previous: lastHash) == hash else {
                return .broken(atSequence: record.sequence)
            }
            lastHash = hash
            lastSequence = record.sequence
            count += 1
            return nil
        }

        public var verdict: Verdict { .intact(entries: count) }
    }
}
