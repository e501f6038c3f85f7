import CaseTalkCore
import Fluent
import Foundation
import SQLKit

/// The audit chain keyed (SPEC §5; issue 16): every entry's hash becomes an HMAC under the audit
/// key, and the browser string gets a column of its own. A trail written before this is checked
/// under the old unkeyed chain, re-chained under the key (Terms acceptances have their browser
/// string moved out of the subject), and the re-chaining recorded as an entry naming the old head
/// and whether the old chain was intact, so nothing earlier is vouched for silently.
struct UpdateAuditEntryKeyChain: AsyncMigration {
    var name: String { "024_UpdateAuditEntryKeyChain" }
    let key: AuditKey

    func prepare(on db: any Database) async throws {
        try await db.schema("audit_entries").field("user_agent", .string, .required, .sql(.default(""))).update()
        try await db.transaction { tx in
            try await UpdateAuditEntryAppendOnly.dropGuards(on: tx)
            try await rechain(on: tx)
            try await UpdateAuditEntryAppendOnly().prepare(on: tx)
        }
    }

    private func rechain(on db: any Database) async throws {
        guard let oldHead = try await Audit.currentHead(on: db), oldHead.seq > 0 else { return }
        var legacyLast = AuditChain.genesis, keyedLast = AuditChain.genesis
        var expected: Int64 = 1
        var firstBreak: Int64? = nil
        while true {
            let page = try await AuditEntry.query(on: db).filter(\.$id >= expected).sort(\.$id, .ascending).limit(500).all()
            for entry in page {
                var record = entry.record
                if firstBreak == nil, record.sequence != expected || entry.previousHash != legacyLast
                    || record.unkeyedHash(previous: legacyLast) != entry.hash {
                    firstBreak = record.sequence
                }
                legacyLast = entry.hash
                if record.action == AuditAction.termsAccepted.rawValue, let agent = record.subject.range(of: " agent:") {
                    record.userAgent = String(record.subject[agent.upperBound...])
                    record.subject = String(record.subject[..<agent.lowerBound])
                }
                let hash = record.chainHash(previous: keyedLast, key: key)
                try await db.sql.update("audit_entries")
                    .set("subject", to: record.subject).set("user_agent", to: record.userAgent)
                    .set("previous_hash", to: keyedLast).set("hash", to: hash)
                    .where("seq", .equal, record.sequence).run()
                keyedLast = hash
                expected = record.sequence + 1
            }
            if page.count < 500 { break }
        }
        if firstBreak == nil, oldHead.seq != expected - 1 || oldHead.hash != legacyLast { firstBreak = expected }
        try await db.sql.update("audit_head").set("seq", to: expected - 1).set("hash", to: keyedLast).where("id", .equal, 1).run()
        let verdict = firstBreak.map { "broken-at:\($0)" } ?? "intact"
        try await Audit.record(.trailRekeyed, actor: .system, subject: "previous-head:\(oldHead.seq):\(oldHead.hash) previous-chain:\(verdict)",
                               clientAddress: "local", at: Date(), key: key, on: db)
    }

    func revert(on db: any Database) async throws {
        try await UpdateAuditEntryAppendOnly.dropGuards(on: db)
        try await db.schema("audit_entries").deleteField("user_agent").update()
        try await UpdateAuditEntryAppendOnly().prepare(on: db)
    }
}
