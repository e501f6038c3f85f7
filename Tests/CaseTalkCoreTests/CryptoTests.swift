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
    func chain(_ count: Int) -> [(record: AuditRecord, previousHash: String, hash: String)] {
        var previous = AuditChain.genesis
        return (1...count).map { n in
            let record = AuditRecord(sequence: Int64(n), occurredAtMillis: 1_700_000_000_000 + Int64(n), actorKind: "staff",
                                     actorID: "id-\(n)", action: "signin.succeeded", subject: "", clientAddress: "127.0.0.1")
            let hash = record.chainHash(previous: previous)
            defer { previous = hash }
            return (record, previous, hash)
        }
    }

    @Test func intactChainVerifies() {
        #expect(AuditChain.verify(chain(5)) == .intact(entries: 5))
        #expect(AuditChain.verify([]) == .intact(entries: 0))
    }

    @Test func editedFieldIsDetected() {
        var entries = chain(5)
        entries[2].record.action = "signin.failed"
        #expect(AuditChain.verify(entries) == .broken(atSequence: 3))
    }

    @Test func removedEntryIsDetected() {
        var entries = chain(5)
        entries.remove(at: 1)
        #expect(AuditChain.verify(entries) == .broken(atSequence: 3))
    }

    @Test func rehashedEntryStillBreaksTheNext() {
        var entries = chain(4)
        entries[1].record.subject = "forged"
        entries[1].hash = entries[1].record.chainHash(previous: entries[1].previousHash)
        #expect(AuditChain.verify(entries) == .broken(atSequence: 3))
    }

    @Test func fieldBoundariesCannotBeShifted() {
        let a = AuditRecord(sequence: 1, occurredAtMillis: 1, actorKind: "ab", actorID: "c", action: "x", subject: "", clientAddress: "")
        let b = AuditRecord(sequence: 1, occurredAtMillis: 1, actorKind: "a", actorID: "bc", action: "x", subject: "", clientAddress: "")
        #expect(a.chainHash(previous: AuditChain.genesis) != b.chainHash(previous: AuditChain.genesis))
    }
}
