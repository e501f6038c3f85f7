import CaseTalkCore
import Fluent
import Foundation
import Vapor

/// Counts a request against the rate limits of its action, for its client address and the
/// account it is about, in one statement per request on the shared database. Over a limit, the
/// request is refused with 429 and `Retry-After` before it does anything.
/// Whom a request's per-account limit counts: the account, registration, reset or sign-in it is
/// about. Its key names the bucket (hashed before it is stored).
enum RateLimitSubject: Hashable, Sendable {
    case staff(UUID)
    case patient(UUID)
    /// A sign-in by email address, before the account is known (an unknown address counts too).
    case email(EmailAddress)
    case invitation(UUID)
    /// A patient's password-reset code step (every reset of the patient counts together).
    case passwordResetCode(patientID: UUID)
    /// A patient's sign-in code step.
    case signInCode(patientID: UUID)
    case twoStepSetup(staffID: UUID)

    var key: String {
        switch self {
        case .staff(let id): "staff:\(id)"
        case .patient(let id): "patient:\(id)"
        case .email(let address): address.value
        case .invitation(let id): "invitation:\(id)"
        case .passwordResetCode(let id): "password-reset:\(id)"
        case .signInCode(let id): "sign-in:\(id)"
        case .twoStepSetup(let id): "two-step-setup:\(id)"
        }
    }
}

enum RateLimits {
    static let message = "Too many attempts. For your security, please wait before trying again."

    /// The bucket names store only hashes: the table holds no addresses or account names.
    static func bucket(_ action: RateLimitPolicy.Action, _ scope: RateLimitPolicy.Scope, _ key: String) -> String {
        "\(action.rawValue).\(scope.rawValue):" + Digest.sha256Hex(key).prefix(32)
    }

    /// Counts one hit; the seconds to wait when a limit is passed, or nil.
    static func hit(_ action: RateLimitPolicy.Action, account subject: RateLimitSubject?, address: String, policy: RateLimitPolicy,
                    now: Date, on db: any Database) async throws -> Int? {
        let account = subject?.key
        var entries: [(bucket: String, rule: RateLimitPolicy.Rule)] = []
        if let rule = policy.rule(action, .address) { entries.append((bucket(action, .address, address), rule)) }
        if let account, let rule = policy.rule(action, .account) { entries.append((bucket(action, .account, account), rule)) }
        guard !entries.isEmpty else { return nil }

        let counted = try await RateLimitsTable.count(entries.map { entry in
            let window = RateLimitPolicy.window(at: now, length: entry.rule.window)
            return RateLimitsTable.Hit(bucket: entry.bucket, window: window.index, expiresAt: window.end)
        }, on: db)
        var wait: Int?
        for row in counted {
            guard let rule = entries.first(where: { $0.bucket == row.bucket })?.rule, row.hits > rule.limit else { continue }
            let seconds = max(1, Int(row.expiresAt.timeIntervalSince(now).rounded(.up)))
            wait = max(wait ?? 0, seconds)
        }
        return wait
    }

    /// Deletes counters whose window has ended (run by the background worker).
    static func sweep(on db: any Database, now: Date) async throws {
        try await RateLimitsTable.deleteExpired(before: now, on: db)
    }
}

extension Request {
    /// Counts this request against `action`'s limits for its client address and `account`;
    /// throws 429 with `Retry-After` when either is passed.
    func rateLimit(_ action: RateLimitPolicy.Action, account: RateLimitSubject?) async throws {
        // Switched off (`CASETALK_RATE_LIMITS=off`): nothing to count, so no address or database either.
        guard !caseTalk.config.rateLimits.isOff else { return }
        if let wait = try await RateLimits.hit(action, account: account, address: clientAddress, policy: caseTalk.config.rateLimits,
                                               now: now, on: db) {
            throw PublicError(status: .tooManyRequests, message: RateLimits.message, retryAfter: wait)
        }
    }
}
