import CaseTalkCore
import Fluent
import Foundation
import Vapor

/// Who did something, for the audit trail.
struct AuditActor: Sendable {
    var kind: String
    var id: String

    static func staff(_ id: UUID) -> AuditActor { AuditActor(kind: "staff", id: id.uuidString) }
    static func patient(_ id: UUID) -> AuditActor { AuditActor(kind: "patient", id: id.uuidString) }
    init(_ principal: Principal) { self.init(kind: principal.kind, id: principal.id.uuidString) }
    init(kind: String, id: String) { self.kind = kind; self.id = id }
    static let anonymous = AuditActor(kind: "anonymous", id: "")
    static let system = AuditActor(kind: "system", id: "")
}

/// What the audit trail records. Subjects are ids, never names, message text or contact details.
enum AuditAction: String, Sendable {
    case signInSucceeded = "signin.succeeded"
    case signInFailed = "signin.failed"
    case accountLocked = "signin.locked"
    case signedOut = "signout"
    case passwordAccepted = "signin.password_accepted"
    case twoStepEnabled = "two_step.enabled"
    case twoStepReset = "two_step.reset"
    case recoveryCodesReplaced = "two_step.recovery_codes_replaced"
    case passwordChanged = "account.password_changed"
    case otherSessionsEnded = "account.other_sessions_ended"
    case twoStepCodeAccepted = "two_step.code_accepted"
    case recoveryCodeUsed = "two_step.recovery_code_used"
    case signInCodeSent = "signin.code_sent"
    case signInCodeSendFailed = "signin.code_send_failed"
    case signInCodeVerified = "signin.code_verified"
    case signInCodeRejected = "signin.code_rejected"
    case signInCodeLocked = "signin.code_locked"
    case browserRemembered = "signin.browser_remembered"
    case caseCreated = "case.created"
    case memberAdded = "case.member_added"
    case memberRemoved = "case.member_removed"
    case practiceCreated = "practice.created"
    case practiceSettingsChanged = "practice.settings_changed"
    case staffCreated = "staff.created"
    case staffUnlocked = "staff.unlocked"
    case staffDeactivated = "staff.deactivated"
    case staffReactivated = "staff.reactivated"
    case staffEdited = "staff.edited"
    case staffInvited = "staff.invited"
    case staffInvitationResent = "staff.invitation_resent"
    case staffInvitationCancelled = "staff.invitation_cancelled"
    case staffInvitationAccepted = "staff.invitation_accepted"
    case conversationHandedOver = "conversation.handed_over"
    case conversationClosed = "conversation.closed"
    case invitationCreated = "invitation.created"
    case invitationResent = "invitation.resent"
    case invitationCorrected = "invitation.corrected"
    case invitationRevoked = "invitation.revoked"
    case invitationOpened = "invitation.opened"
    case invitationReminded = "invitation.reminded"
    case codeSent = "registration.code_sent"
    case codeSendFailed = "registration.code_send_failed"
    case codeVerified = "registration.code_verified"
    case codeRejected = "registration.code_rejected"
    case verificationLocked = "registration.locked"
    case phonesSaved = "registration.phones_saved"
    case birthDateConfirmed = "registration.birth_date_confirmed"
    case birthDateRejected = "registration.birth_date_rejected"
    case invitationEndedByBirthDate = "invitation.ended_by_birth_date"
    case termsAccepted = "registration.terms_accepted"
    case patientRegistered = "registration.completed"
    case invitationAccepted = "invitation.accepted"
    case patientAccessRemoved = "case.patient_access_removed"
    case resetRequested = "password_reset.requested"
    case resetRequestHandled = "password_reset.request_handled"
    case resetCodeSent = "password_reset.code_sent"
    case resetCodeSendFailed = "password_reset.code_send_failed"
    case resetCodeVerified = "password_reset.code_verified"
    case resetCodeRejected = "password_reset.code_rejected"
    case resetLocked = "password_reset.locked"
    case passwordReset = "password_reset.completed"
    case messageSent = "message.sent"
    case messagesViewed = "message.viewed"
    case caseViewed = "case.viewed"
    case trailRekeyed = "audit.rekeyed"
    case attachmentUploaded = "attachment.uploaded"
    case attachmentViewed = "attachment.viewed"
    case attachmentDownloaded = "attachment.downloaded"
    /// The virus check refused the file (it is never shown, and its stored bytes are removed).
    case attachmentRefused = "attachment.refused"
}

/// One audit entry before it takes its place in the chain.
struct AuditDraft: Sendable {
    var action: AuditAction
    var actor: AuditActor
    var subject: String
    var clientAddress: String
    var at: Date
    var userAgent = ""
}

enum Audit {
    /// Appends one entry. Call it inside the transaction of the change it records, so the change
    /// and its record are stored together or not at all.
    static func record(_ action: AuditAction, actor: AuditActor, subject: String, clientAddress: String,
                       at now: Date, key: AuditKey, on db: any Database) async throws {
        try await record([AuditDraft(action: action, actor: actor, subject: subject, clientAddress: clientAddress, at: now)],
                         key: key, on: db)
    }

    /// Appends entries in their order, with three statements however many there are.
    static func record(_ drafts: [AuditDraft], key: AuditKey, on db: any Database) async throws {
        guard !drafts.isEmpty else { return }
        // Inside an outer transaction this joins it; alone it is its own, so the statements below
        // are never interleaved with another writer's.
        try await db.transaction { tx in
            guard let head = try await AuditTable.takeNumbers(drafts.count, on: tx) else { throw Abort(.internalServerError) }
            var previous = head.hash
            var rows: [AuditTable.Row] = []
            for (offset, draft) in drafts.enumerated() {
                let record = AuditRecord(sequence: head.seq - Int64(drafts.count) + 1 + Int64(offset),
                                         occurredAtMillis: millis(draft.at),
                                         actorKind: draft.actor.kind, actorID: draft.actor.id, action: draft.action.rawValue,
                                         subject: draft.subject, clientAddress: draft.clientAddress, userAgent: draft.userAgent)
                let hash = record.chainHash(previous: previous, key: key)
                rows.append(AuditTable.Row(record: record, previousHash: previous, hash: hash))
                previous = hash
            }
            try await AuditTable.append(rows, on: tx)
            try await AuditTable.setHeadHash(previous, on: tx)
        }
    }

    /// Recomputes the whole chain under the key, a page at a time, and compares its end with the
    /// head row (entries cut from the end are noticed too) and with any signed heads given (which
    /// notice a cut even when the head row was moved back with it). Heads must be signed with `key`.
    static func verify(on db: any Database, key: AuditKey, heads: [SignedAuditHead] = [],
                       pageSize: Int = 1000) async throws -> AuditChain.Verdict {
        var verifier = AuditChain.Verifier(key: key, heads: heads)
        while true {
            let page = try await AuditEntry.query(on: db).filter(\.$id > verifier.lastSequence)
                .sort(\.$id, .ascending).limit(pageSize).all()
            for entry in page {
                if let broken = verifier.check(entry.record, previousHash: entry.previousHash, hash: entry.hash) { return broken }
            }
            if page.count < pageSize { break }
        }
        let verdict = verifier.verdict
        guard case .intact = verdict else { return verdict }
        guard let head = try await currentHead(on: db) else { return .broken(atSequence: 0) }
        guard head.seq == verifier.lastSequence, head.hash == verifier.lastHash else {
            return .broken(atSequence: verifier.lastSequence + 1)
        }
        return verdict
    }

    typealias Head = AuditTable.Head

    static func currentHead(on db: any Database) async throws -> Head? {
        try await AuditTable.head(on: db)
    }

    /// The head as it is now, signed with the audit key, to be written outside the database.
    static func signedHead(on db: any Database, key: AuditKey, at now: Date) async throws -> SignedAuditHead? {
        try await currentHead(on: db).map { sign($0, key: key, at: now) }
    }

    /// Writes the signed head to the server's log when the trail has grown since the last one
    /// written (the background worker calls it every minute); returns what is now the last written.
    static func publishHead(after last: Head?, on db: any Database, key: AuditKey, at now: Date,
                            logger: Logger) async throws -> Head? {
        guard let head = try await currentHead(on: db), head != last else { return last }
        logger.notice("audit head \(sign(head, key: key, at: now).token)")
        return head
    }

    private static func sign(_ head: Head, key: AuditKey, at now: Date) -> SignedAuditHead {
        SignedAuditHead(sequence: head.seq, hash: head.hash, writtenAtMillis: millis(now), key: key)
    }

    /// Times in the chain: whole milliseconds since 1970.
    private static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}

extension Request {
    /// The client's address (the audit trail's "from where", the rate limits' key): the TCP peer,
    /// or behind a trusted proxy the address it forwarded (`TRUSTED_PROXIES`, SPEC §5).
    var clientAddress: String {
        caseTalk.config.trustedProxies.client(peer: remoteAddress?.ipAddress, forwardedFor: headers[.xForwardedFor])
    }

    /// Records an audit entry on `db` (pass the transaction when inside one).
    func audit(_ action: AuditAction, actor: AuditActor, subject: String = "", userAgent: String = "",
               on db: (any Database)? = nil) async throws {
        try await useCase.on(db ?? self.db).audit(action, actor: actor, subject: subject, userAgent: userAgent)
    }
}
