import Foundation

/// The Invite Patient form (SPEC §2): Email Address and Confirm Email Address must both be valid
/// and equal. The message says which is wrong.
public enum InviteForm {
    public static func validate(email: String?, confirmation: String?) -> Result<EmailAddress, FieldErrors> {
        var errors = FieldErrors()
        var address: EmailAddress?
        do { address = try EmailAddress(email ?? "") } catch { errors.add("email", error.message) }
        let confirmed = try? EmailAddress(confirmation ?? "")
        if (confirmation ?? "").trimmingWhitespace().isEmpty {
            errors.add("confirm_email", "Enter the email address again to confirm it.")
        } else if let address, confirmed != address {
            errors.add("confirm_email", "The two email addresses do not match.")
        } else if address == nil, confirmed == nil {
            errors.add("confirm_email", "Enter a valid email address, like name@example.com.")
        }
        guard errors.isEmpty, let address else { return .failure(errors) }
        return .success(address)
    }
}

/// SPEC §3, "Who controls the invitation": the address that receives the link decides who
/// becomes the case's patient. When the case has no Patient email any member may send the
/// first invitation (its address becomes the case's); after that only members of the practice
/// that owns the case may send to another address or revoke. Resending to the address on file
/// is open to every member.
public enum InvitationControl {
    public enum Change: Sendable { case send(EmailAddress), resend, revoke }

    public enum Decision: Equatable, Sendable {
        case allowed
        case refused(String)
    }

    public static func decide(_ change: Change, addressOnFile: String?, ownsCase: Bool, owningPractice: String) -> Decision {
        if ownsCase { return .allowed }
        switch change {
        case .resend:
            return .allowed
        case .send(let address):
            guard let addressOnFile, addressOnFile != address.value else { return .allowed }
            return .refused(otherAddressMessage(owningPractice))
        case .revoke:
            return .refused(onlyOwners(owningPractice, can: "revoke the invitation."))
        }
    }

    /// Why a member of another practice is offered only the address on file.
    public static func otherAddressMessage(_ owningPractice: String) -> String {
        onlyOwners(owningPractice, can: "send the invitation to another address. You can resend it to the address on file.")
    }

    /// "Only {practice}, whose case this is, can {action}": the one wording for what only the
    /// owning practice may do.
    public static func onlyOwners(_ owningPractice: String, can action: String) -> String {
        "Only \(owningPractice), whose case this is, can \(action)"
    }
}

/// SPEC §3: invitation links live 14 days; reminders go out on day 3 and day 10.
public enum InvitationPolicy {
    public static let lifetime: TimeInterval = 14 * 24 * 3600
    public static let reminderDays: [Int] = [3, 10]

    /// The reminder due at `now` for an invitation sent at `sentAt` that has had `remindersSent`
    /// reminders, if any.
    public static func reminderDue(sentAt: Date, remindersSent: Int, now: Date) -> Bool {
        guard remindersSent < reminderDays.count else { return false }
        return now.timeIntervalSince(sentAt) >= TimeInterval(reminderDays[remindersSent]) * 24 * 3600
    }
}

/// How long the outbox waits before trying a failed delivery again: 30 s, doubling, at most
/// 2 minutes, so mail goes out within two minutes of a mail server coming back.
public enum RetrySchedule {
    public static let first: TimeInterval = 30
    public static let longest: TimeInterval = 2 * 60

    public static func delay(afterAttempt attempt: Int) -> TimeInterval {
        let exponent = max(0, min(attempt - 1, 20))
        return min(first * pow(2, Double(exponent)), longest)
    }
}
