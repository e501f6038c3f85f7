import CaseTalkCore
import Foundation
import Testing

@Suite struct ScryptHasherTests {
    let hasher = ScryptHasher(parameters: .testing)

    @Test func roundTripAndWrongPassword() throws {
        let encoded = try hasher.hash("correct horse battery staple")
        #expect(hasher.verify("correct horse battery staple", against: encoded))
        #expect(!hasher.verify("correct horse battery stapl", against: encoded))
        #expect(!hasher.verify("", against: encoded))
    }

    @Test func sameSaltNeverRepeats() throws {
        #expect(try hasher.hash("same password") != hasher.hash("same password"))
    }

    @Test func standardParametersAreSelfDescribing() throws {
        let encoded = try ScryptHasher(parameters: .standard).hash("x")
        #expect(encoded.hasPrefix("$scrypt$ln=14,r=8,p=5$"))
        let salt = try #require(Data(base64Encoded: String(encoded.split(separator: "$")[2])))
        #expect(salt.count == 16)
    }

    @Test func nothingIsTruncated() throws {
        // bcrypt would ignore everything after byte 72; these differ only at byte 101.
        let base = String(repeating: "a", count: 100)
        let encoded = try hasher.hash(base + "X")
        #expect(!hasher.verify(base + "Y", against: encoded))
        #expect(hasher.verify(base + "X", against: encoded))
    }

    @Test func rehashWhenParametersChange() throws {
        let weak = try hasher.hash("pw")
        #expect(!hasher.needsRehash(weak))
        #expect(ScryptHasher(parameters: .standard).needsRehash(weak))
        #expect(ScryptHasher(parameters: .standard).verify("pw", against: weak), "old hashes keep working")
    }

    @Test(arguments: ["", "$scrypt$", "$bcrypt$2b$10$abc", "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", "$scrypt$ln=4,r=8,p=1$!!$!!"])
    func malformedHashesNeverMatch(encoded: String) {
        #expect(!hasher.verify("anything", against: encoded))
        #expect(hasher.needsRehash(encoded))
    }
}

@Suite struct RandomAndDigestTests {
    @Test func tokensAre256BitsURLSafeAndDistinct() {
        let tokens = (0..<200).map { _ in SecureRandom.token() }
        #expect(Set(tokens).count == 200)
        for token in tokens {
            #expect(token.count == 43)
            #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        }
    }

    @Test func sha256HexKnownAnswer() {
        #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equal("abc", "abc"))
        #expect(!ConstantTime.equal("abc", "abd"))
        #expect(!ConstantTime.equal("abc", "abcd"))
    }
}

@Suite struct AuditChainTests {
    let key = AuditKey((0..<32).map { UInt8($0) })

    func chain(_ count: Int, key: AuditKey? = nil) -> [(record: AuditRecord, previousHash: String, hash: String)] {
        var previous = AuditChain.genesis
        return (1...count).map { n in
            let record = AuditRecord(sequence: Int64(n), occurredAtMillis: 1_700_000_000_000 + Int64(n), actorKind: "staff",
                                     actorID: "id-\(n)", action: "signin.succeeded", subject: "", clientAddress: "127.0.0.1")
            let hash = record.chainHash(previous: previous, key: key ?? self.key)
            defer { previous = hash }
            return (record, previous, hash)
        }
    }

    @Test func intactChainVerifies() {
        #expect(AuditChain.verify(chain(5), key: key) == .intact(entries: 5))
        #expect(AuditChain.verify([], key: key) == .intact(entries: 0))
    }

    @Test func editedFieldIsDetected() {
        var entries = chain(5)
        entries[2].record.action = "signin.failed"
        #expect(AuditChain.verify(entries, key: key) == .broken(atSequence: 3))
        var agent = chain(3)
        agent[1].record.userAgent = "Mozilla/5.0"
        #expect(AuditChain.verify(agent, key: key) == .broken(atSequence: 2), "the browser string is covered too")
    }

    @Test func removedEntryIsDetected() {
        var entries = chain(5)
        entries.remove(at: 1)
        #expect(AuditChain.verify(entries, key: key) == .broken(atSequence: 3))
    }

    @Test func rehashedEntryStillBreaksTheNext() {
        var entries = chain(4)
        entries[1].record.subject = "forged"
        entries[1].hash = entries[1].record.chainHash(previous: entries[1].previousHash, key: key)
        #expect(AuditChain.verify(entries, key: key) == .broken(atSequence: 3))
    }

    /// Review M5: without the key, a database writer could recompute every later hash. Whatever
    /// key or plain SHA-256 they use instead, the chain no longer verifies under the real key.
    @Test func aChainRecomputedWithoutTheKeyIsDetected() {
        let other = AuditKey(Array(repeating: 7, count: 32))
        #expect(AuditChain.verify(chain(4, key: other), key: key) == .broken(atSequence: 1))
        var previous = AuditChain.genesis
        let unkeyed = chain(4).map { entry in
            let hash = entry.record.unkeyedHash(previous: previous)
            defer { previous = hash }
            return (record: entry.record, previousHash: previous, hash: hash)
        }
        #expect(AuditChain.verify(unkeyed, key: key) == .broken(atSequence: 1))
    }

    @Test func fieldBoundariesCannotBeShifted() {
        let a = AuditRecord(sequence: 1, occurredAtMillis: 1, actorKind: "ab", actorID: "c", action: "x", subject: "", clientAddress: "")
        let b = AuditRecord(sequence: 1, occurredAtMillis: 1, actorKind: "a", actorID: "bc", action: "x", subject: "", clientAddress: "")
        #expect(a.chainHash(previous: AuditChain.genesis, key: key) != b.chainHash(previous: AuditChain.genesis, key: key))
        let c = AuditRecord(sequence: 1, occurredAtMillis: 1, actorKind: "a", actorID: "b", action: "x", subject: "s u", clientAddress: "")
        let d = AuditRecord(sequence: 1, occurredAtMillis: 1, actorKind: "a", actorID: "b", action: "x", subject: "s", clientAddress: "",
                            userAgent: "u")
        #expect(c.chainHash(previous: AuditChain.genesis, key: key) != d.chainHash(previous: AuditChain.genesis, key: key))
    }

    /// A signed head names an entry and its hash: a trail cut below it is truncated, a trail whose
    /// entry there differs is broken, and a longer trail is fine.
    @Test func signedHeadsCatchTruncation() {
        let entries = chain(6)
        let head = SignedAuditHead(sequence: 5, hash: entries[4].hash, writtenAtMillis: 1, key: key)
        #expect(AuditChain.verify(entries, key: key) == .intact(entries: 6))
        var verifier = AuditChain.Verifier(key: key, heads: [head])
        for entry in entries.prefix(3) { #expect(verifier.check(entry.record, previousHash: entry.previousHash, hash: entry.hash) == nil) }
        #expect(verifier.verdict == .truncated(missingFrom: 4))

        var full = AuditChain.Verifier(key: key, heads: [head])
        for entry in entries { #expect(full.check(entry.record, previousHash: entry.previousHash, hash: entry.hash) == nil) }
        #expect(full.verdict == .intact(entries: 6))

        // A different trail of the same length (rebuilt with the key) does not match the head.
        var altered = chain(6)
        altered[4].record.subject = "rewritten"
        var previous = AuditChain.genesis
        for i in altered.indices {
            altered[i].previousHash = previous
            altered[i].hash = altered[i].record.chainHash(previous: previous, key: key)
            previous = altered[i].hash
        }
        var other = AuditChain.Verifier(key: key, heads: [head])
        let verdicts = altered.compactMap { other.check($0.record, previousHash: $0.previousHash, hash: $0.hash) }
        #expect(verdicts.first == .broken(atSequence: 5))
    }

    @Test func headTokensAreFoundInLogLinesAndSigned() {
        let head = SignedAuditHead(sequence: 42, hash: String(repeating: "a", count: 64), writtenAtMillis: 1_700_000_000_000, key: key)
        let log = """
            2026-12-02T03:00:00Z notice casetalk : audit head \(head.token)
            2026-12-02T03:00:01Z info casetalk : GET /login
            """
        let found = SignedAuditHead.all(in: log)
        #expect(found == [head])
        #expect(found[0].isSigned(by: key))
        #expect(!found[0].isSigned(by: AuditKey(Array(repeating: 1, count: 32))))
        let moved = head.token.replacingOccurrences(of: ":42:", with: ":41:")
        #expect(SignedAuditHead.all(in: moved).first.map { $0.isSigned(by: key) } == false, "a changed number breaks the signature")
        #expect(SignedAuditHead.all(in: "casetalk-audit-head:1:short:1:short").isEmpty)
    }
}
