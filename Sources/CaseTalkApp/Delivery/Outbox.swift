import CaseTalkCore
import Fluent
import Foundation
import NIOConcurrencyHelpers
import Vapor

/// What an outbox email is about, stored as its raw value in `outbox.kind`: for the status
/// staff see, the notifications a read message makes unneeded, and limits that count emails.
enum OutboxKind: String, CaseIterable, Sendable {
    case invitation
    case reminder
    /// The invitation's address was corrected: the new address gets the link.
    case invitationAddress = "invitation-address"
    case invitationEnded = "invitation-ended"
    case memberAdded = "member-added"
    case newBrowserSignIn = "new-browser-sign-in"
    case passwordChanged = "password-changed"
    case passwordReset = "password-reset"
    case passwordResetStaff = "password-reset-staff"
    /// A new-message notification (SPEC §4), one kind per direction.
    case messageToPatient = "message-to-patient"
    case replyToMember = "reply-to-member"
    /// Departures (SPEC §9): the patient's care team changed; a member was handed a Patient
    /// Talk; a practice's admins hear of conversations that closed themselves.
    case careTeamChanged = "care-team-changed"
    case talkHandedOver = "talk-handed-over"
    case talksClosed = "talks-closed"
    /// **Invite Staff** (SPEC §9): the link to join a practice.
    case staffInvitation = "staff-invitation"
    case twoStepReset = "two-step-reset"
}

enum Outbox {
    /// How long a worker owns the rows it claimed before another may take them.
    static let lease: TimeInterval = 120
    static let batchSize = 20

    /// Queues an email. Pass the transaction of the change that causes it.
    static func enqueue(_ message: EmailMessage, kind: OutboxKind, relatedID: UUID?, sealer: Sealer,
                        at now: Date, on db: any Database) async throws {
        try await enqueue([Queued(message: message, kind: kind, relatedID: relatedID)], sealer: sealer, at: now, on: db)
    }

    /// An email to queue, with what it is about.
    struct Queued: Sendable {
        let message: EmailMessage
        let kind: OutboxKind
        let relatedID: UUID?
    }

    /// Queues emails together, in one statement per `Bucket` chunk however many (a group of sends
    /// notifies many conversations at once).
    static func enqueue(_ emails: [Queued], sealer: Sealer, at now: Date, on db: any Database) async throws {
        guard !emails.isEmpty else { return }
        let encoder = JSONEncoder()
        try await OutboxTable.insert(try emails.map { email in
            let id = UUID()
            return OutboxTable.New(id: id, kind: email.kind, relatedID: email.relatedID,
                                   sealedMessage: try sealer.seal(Array(try encoder.encode(email.message)), context: SealedData.outboxContext(id)),
                                   at: now)
        }, on: db)
    }

    /// One round of delivery: claims due rows, sends them in one batch, records each outcome.
    /// Returns how many rows it handled.
    @discardableResult
    static func deliverDue(db: any Database, mailer: any Mailer, sealer: Sealer, now: Date, logger: Logger) async throws -> Int {
        let claimed = try await claimDue(db: db, now: now)
        guard !claimed.isEmpty else { return 0 }

        let unneeded = try await Notifications.readBeforeDelivery(claimed.map { ($0.id, $0.kind, $0.relatedId) }, on: db)
        // No longer needed: not sent, and the content goes.
        try await OutboxTable.finish(claimed.filter { unneeded.contains($0.id) }.map(\.id), as: .skipped, at: now, on: db)
        var ready: [(row: Claimed, message: EmailMessage)] = []
        let decoder = JSONDecoder()
        for row in claimed where !unneeded.contains(row.id) {
            do {
                let bytes = try sealer.open(row.sealedMessage, context: SealedData.outboxContext(row.id))
                ready.append((row, try decoder.decode(EmailMessage.self, from: Data(bytes))))
            } catch {
                // Cannot be opened (wrong key): keep it, tell the operator, try again later.
                logger.error("outbox message could not be opened", metadata: ["outbox_id": .string(row.id.uuidString)])
                try await OutboxTable.retry(row.id, at: now.addingTimeInterval(RetrySchedule.delay(afterAttempt: row.attempts)),
                                            reason: "the message could not be decrypted", on: db)
            }
        }
        let outcomes = await mailer.send(ready.map(\.message))
        var sent: [UUID] = []
        for (entry, outcome) in zip(ready, outcomes) {
            switch outcome {
            case .sent: sent.append(entry.row.id)
            case .retry(let reason):
                try await OutboxTable.retry(entry.row.id, at: now.addingTimeInterval(RetrySchedule.delay(afterAttempt: entry.row.attempts)),
                                            reason: reason, on: db)
            case .rejected(let reason): try await OutboxTable.fail(entry.row.id, reason: reason, on: db)
            }
        }
        // Delivered: the content is no longer needed here.
        try await OutboxTable.finish(sent, as: .sent, at: now, on: db)
        return claimed.count
    }

    typealias Claimed = OutboxTable.Claimed

    /// Takes the lease on up to `batchSize` due rows, in one UPDATE that only takes rows still
    /// unclaimed, so two workers never both send a row.
    static func claimDue(db: any Database, now: Date) async throws -> [Claimed] {
        try await OutboxTable.claim(try await OutboxTable.due(now: now, limit: batchSize, on: db), now: now,
                                    leaseUntil: now.addingTimeInterval(lease), on: db)
    }
}

/// Runs outbox delivery in the background of `serve` (every second while there is nothing to do,
/// at once while there is), once a minute the housekeeping: invitation reminders and the
/// sweep of expired sessions; the virus check of waiting files, when there is one; and once an
/// hour the sweep of stored files no row names.
final class BackgroundWorker: Sendable {
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    let interval: Duration

    init(interval: Duration = .seconds(1)) { self.interval = interval }

    func start(_ app: Application) {
        let interval = self.interval
        task.withLockedValue { current in
            guard current == nil else { return }
            current = Task.detached {
                var lastHousekeeping = Date.distantPast, lastFileSweep = Date.distantPast, scannerBackUntil = Date.distantPast
                var lastHead: Audit.Head? = nil
                while !Task.isCancelled {
                    var handled = 0
                    do {
                        let services = app.caseTalk
                        let now = services.clock.now()
                        // Forgot password? requests first, so their emails go out in this round.
                        handled = try await PasswordResets.handleDue(services: services, now: now, on: app.db, logger: app.logger)
                        handled += try await Outbox.deliverDue(db: app.db, mailer: services.mailer, sealer: services.sealer,
                                                              now: now, logger: app.logger)
                        if now.timeIntervalSince(lastHousekeeping) >= 60 {
                            try await InvitationReminders.sendDue(db: app.db, services: services, now: now)
                            try await SessionHousekeeping.sweepExpired(on: app.db, now: now)
                            try await RememberedBrowsers.sweepExpired(now: now, on: app.db)
                            try await RateLimits.sweep(on: app.db, now: now)
                            try await Departures.closeUndecided(services: services, now: now, on: app.db)
                            lastHead = try await Audit.publishHead(after: lastHead, on: app.db, key: services.auditKey, at: now,
                                                                   logger: app.logger)
                            lastHousekeeping = now
                        }
                        if let scanner = services.scanner, now >= scannerBackUntil {
                            do {
                                handled += try await Attachments.checkWaiting(scanner: scanner, services: services, now: now,
                                                                              on: app.db, logger: app.logger)
                            } catch {
                                // Files wait as "Checking…"; the scanner is tried again in a few seconds.
                                app.logger.warning("virus check unavailable; files wait", metadata: ["error": .string(String(describing: error))])
                                scannerBackUntil = now.addingTimeInterval(5)
                            }
                        }
                        if now.timeIntervalSince(lastFileSweep) >= 3600 {
                            let removed = try await Attachments.sweepUnnamed(store: services.attachments, now: now, on: app.db)
                            if removed > 0 { app.logger.info("removed stored files no message names", metadata: ["count": "\(removed)"]) }
                            lastFileSweep = now
                        }
                    } catch {
                        app.logger.warning("background delivery round failed", metadata: ["error": .string(String(reflecting: type(of: error)))])
                    }
                    if handled == 0 { try? await Task.sleep(for: interval) }
                }
            }
        }
    }

    func stop() async {
        let running = task.withLockedValue { current in defer { current = nil }; return current }
        running?.cancel()
        await running?.value
    }
}

struct BackgroundWorkerLifecycle: LifecycleHandler {
    func shutdownAsync(_ application: Application) async {
        await application.caseTalk.worker.stop()
    }
}
