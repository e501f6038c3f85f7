import CaseTalkCore
import Foundation
import Vapor

/// The current time, behind a closure so tests can move it.
public struct AppClock: Sendable {
    public var now: @Sendable () -> Date
    public init(now: @escaping @Sendable () -> Date) { self.now = now }
    public static let system = AppClock { Date() }
}

/// Everything the features need, built once in `configure` (the one place that knows every
/// part: platform and features alike) and kept in
/// `app.storage` (no globals).
public struct CaseTalkServices: Sendable {
    public var config: AppConfig
    public var clock: AppClock
    public var passwords: PasswordService
    /// The shipped common-password list (SPEC §3), read once at boot.
    public var commonPasswords: CommonPasswords
    /// The current Terms of Use (the newest file in `Resources/Terms/`), read once at boot.
    public var termsOfUse: TermsOfUse
    /// Seals data at rest with the data key (outbox messages, message bodies, TOTP keys).
    package var sealer: Sealer
    /// Keys the audit chain.
    package var auditKey: AuditKey
    /// Keeps verification codes as HMACs under a key derived from the data key.
    var codeHasher: CodeHasher
    /// Where the outbox delivers email: SMTP, or the development mailbox.
    var mailer: any Mailer
    /// Where verification codes go: Twilio, or the development mailbox.
    var phones: any PhoneSender
    /// Outbox delivery and reminders, running under `serve`.
    var worker: BackgroundWorker
    /// Patient Talk messages, stored in groups.
    var messages = MessageWriter.groups()
    /// Opened threads (messages read, views audited), stored in groups.
    var views = ThreadViews.groups()
    /// Where attachments' sealed bytes are kept (`ATTACHMENT_STORE`).
    var attachments: any AttachmentStore
    /// The virus check every file passes before it is shown (`CLAMD_ADDRESS`); nil: none, and
    /// files are ready as soon as they are sent.
    var scanner: (any VirusScanner)? = nil
    /// The image tool (`vipsthumbnail` on the PATH): images rewritten, with thumbnails and views;
    /// nil: images are cleaned here only and shown as they are.
    var imageTool: ImageTool? = nil
}

extension Application {
    private struct ServicesKey: StorageKey { typealias Value = CaseTalkServices }

    public var caseTalk: CaseTalkServices {
        get {
            guard let services = storage[ServicesKey.self] else {
                preconditionFailure("configure(_:config:) sets the services before anything uses them")
            }
            return services
        }
        set { storage[ServicesKey.self] = newValue }
    }
}

extension CaseTalkServices {
    /// What a person may attach to one message (SPEC §8).
    func attachmentLimits(staff: Bool) -> AttachmentLimits {
        staff ? .staff(maxMegabytes: config.attachmentMaxStaffMB) : .patient
    }

    /// The names and attributes of the cookies, from the public address (https: `__Host-`).
    var cookies: BrowserCookies { BrowserCookies(secure: config.usesSecureCookies) }
}

extension Request {
    var caseTalk: CaseTalkServices { application.caseTalk }
    var now: Date { application.caseTalk.clock.now() }
}
