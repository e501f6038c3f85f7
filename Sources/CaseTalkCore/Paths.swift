import Foundation

/// Every URL the product links or redirects to, typed (issue 17). Views, redirects and email
/// links take a `Paths`, never a string; `PathsTests` ties every `Route` to a registered route.
///
/// A path is made from its `route` (the pattern the router registers), the values for the
/// pattern's parameters in order, and a query: so a link cannot drift from its route.
public enum Paths: Hashable, Sendable {
    // Signing in and out
    case home
    case signIn(next: String? = nil, notice: SignInNotice? = nil)
    case signOut
    case sessionAlive
    case twoStep(recovery: Bool = false, next: String? = nil)
    case twoStepSetup(next: String? = nil)
    /// A new browser's sign-in: its first page (the delivery method).
    case signInVerify
    // The phone code's pages, shared by a registration, a password reset and a new browser's sign-in
    case codeMethod(CodeFlow, next: String? = nil)
    case code(CodeFlow, sentAgain: Bool = false, next: String? = nil)
    case codeResend(CodeFlow)
    // Password reset
    case forgotPassword(sent: Bool = false)
    case resetLink(token: String)
    case resetStart
    case resetPassword
    // Registration
    case invitationLink(token: String)
    case registration
    case registrationStep(RegistrationStep)
    case acceptInvitation
    // Patients
    case portal(joined: Bool = false)
    case inbox(page: Int? = nil)
    case conversation(UUID, page: Int? = nil, sent: Bool = false)
    // Staff
    /// View Cases; `left` after **Leave this case**.
    case cases(page: Int? = nil, left: Bool = false)
    case newCase
    /// The practice's staff, for its admins (SPEC §9); `done` after an action.
    case practice(done: PracticeNotice? = nil)
    case unlockStaff(UUID)
    /// **Deactivate** a staff member, deciding on their Patient Talks (also after deactivation).
    case departure(UUID)
    case reactivateStaff(UUID)
    /// **Reset two-step verification** of a staff member.
    case resetTwoStep(UUID)
    /// **Edit** a staff member's name, role and admin mark.
    case editStaff(UUID)
    /// **Account** (every staff member): change password, sessions, new recovery codes.
    case account(done: AccountNotice? = nil)
    case accountPassword
    case accountSignOutOthers
    case accountRecoveryCodes
    /// **Practice settings**: name and time zone.
    case practiceSettings
    /// **Invite Staff**, and a pending invitation's **Resend** and **Cancel invitation**.
    case inviteStaff
    case resendStaffInvitation(UUID)
    case cancelStaffInvitation(UUID)
    /// A staff invitation's link: **Set password**, then two-step verification (SPEC §9).
    case staffInvitationLink(token: String)
    case caseOverview(UUID, search: String? = nil, done: CaseNotice? = nil)
    case caseMembers(UUID)
    /// **Leave this case** (one's own id) or **Remove from case** (SPEC §9).
    case removeMember(UUID, staff: UUID)
    case patientTalk(UUID, page: Int? = nil, done: TalkNotice? = nil)
    case invite(UUID)
    case resendInvitation(UUID)
    case revokeInvitation(UUID)
    case removePatientAccess(UUID)
    /// The case's Attachments tab (the signed-in member's own Patient Talk's files), and one file
    /// in it, full screen, with the same filter and order for Previous and Next.
    case caseAttachments(UUID, show: FileFilter? = nil, sort: FileSort? = nil)
    case caseAttachment(UUID, file: UUID, show: FileFilter? = nil, sort: FileSort? = nil)
    /// The message forms when files go with them (streamed, see `uploadPrefix`).
    case patientTalkUpload(UUID)
    case conversationUpload(UUID)
    /// One file at a time, ahead of its message (the page's script, so that a failed file can be
    /// sent again alone); the message form then names the files by id.
    case patientTalkFiles(UUID)
    case conversationFiles(UUID)
    /// An attached file: shown (cleaned images) or downloaded; or the thumbnail or screen-sized
    /// view the image tool made of it.
    case file(UUID, download: Bool = false, size: FileSize? = nil)
    // Development only
    case devMailbox
    case devMailboxItem(UUID)
    case devMailboxItemHTML(UUID)

    /// The three flows that send a code to a phone, by where their pages live.
    public enum CodeFlow: String, Hashable, Sendable, CaseIterable {
        case registration = "/register"
        case passwordReset = "/password/reset"
        case signIn = "/login/verify"
    }

    /// The smaller images the image tool makes of a photo (SPEC §8): a 320 px thumbnail and a
    /// 1600 px view for the screen.
    public enum FileSize: String, Hashable, Sendable { case thumbnail, view }

    /// What the sign-in page says on arrival.
    public enum SignInNotice: String, Hashable, Sendable { case registered, reset }

    /// What a case's Overview says after an action.
    public enum CaseNotice: String, Hashable, Sendable, CaseIterable {
        case created, alreadyMember = "already-member", memberAdded = "member-added", memberRemoved = "member-removed"
    }

    /// What Patient Talk says after an action.
    /// Which files the Attachments tab shows (nil: all), and in which order (nil: newest first).
    public enum FileFilter: String, Hashable, Sendable, CaseIterable { case images, documents }
    public enum FileSort: String, Hashable, Sendable, CaseIterable { case date, name }

    /// What the Account page says after an action.
    public enum AccountNotice: String, Hashable, Sendable, CaseIterable { case password, signedOut = "signed-out" }

    /// What the Practice page says after an action.
    public enum PracticeNotice: String, Hashable, Sendable, CaseIterable { case unlocked, deactivated, reactivated, decided, edited, invited, resent, cancelled, settings, twoStepReset = "two-step-reset" }

    public enum TalkNotice: String, Hashable, Sendable, CaseIterable {
        case message, invited, resent, revoked, removed
    }

    /// Every pattern the router registers for a page or a form, written once.
    public enum Route: String, CaseIterable, Sendable {
        case home = "/"
        case signIn = "/login"
        case signOut = "/logout"
        case sessionAlive = "/session/alive"
        case twoStep = "/login/two-step"
        case twoStepSetup = "/two-step/setup"
        case signInVerify = "/login/verify"
        case signInMethod = "/login/verify/method"
        case signInCode = "/login/verify/code"
        case signInCodeResend = "/login/verify/code/resend"
        case forgotPassword = "/password/forgot"
        case resetLink = "/password/reset/:token"
        case resetStart = "/password/reset"
        case resetMethod = "/password/reset/method"
        case resetCode = "/password/reset/code"
        case resetCodeResend = "/password/reset/code/resend"
        case resetPassword = "/password/reset/password"
        case invitationLink = "/register/:token"
        case registration = "/register"
        case birthDate = "/register/birth-date"
        case phones = "/register/phones"
        case registrationMethod = "/register/method"
        case registrationCode = "/register/code"
        case registrationCodeResend = "/register/code/resend"
        case terms = "/register/terms"
        case registrationPassword = "/register/password"
        case acceptInvitation = "/register/accept"
        case portal = "/portal"
        case inbox = "/inbox"
        case conversation = "/inbox/:conversationID"
        case cases = "/cases"
        case newCase = "/cases/new"
        case practice = "/practice"
        case unlockStaff = "/practice/staff/:staffID/unlock"
        case departure = "/practice/staff/:staffID/deactivate"
        case reactivateStaff = "/practice/staff/:staffID/reactivate"
        case resetTwoStep = "/practice/staff/:staffID/reset-two-step"
        case editStaff = "/practice/staff/:staffID/edit"
        case inviteStaff = "/practice/invitations"
        case practiceSettings = "/practice/settings"
        case account = "/account"
        case accountPassword = "/account/password"
        case accountSignOutOthers = "/account/sessions/sign-out-others"
        case accountRecoveryCodes = "/account/recovery-codes"
        case resendStaffInvitation = "/practice/invitations/:invitationID/resend"
        case cancelStaffInvitation = "/practice/invitations/:invitationID/cancel"
        case staffInvitationLink = "/join/:token"
        case caseOverview = "/cases/:caseID"
        case caseMembers = "/cases/:caseID/members"
        case removeMember = "/cases/:caseID/members/:staffID/remove"
        case patientTalk = "/cases/:caseID/talk"
        case invite = "/cases/:caseID/invite"
        case resendInvitation = "/cases/:caseID/invitation/resend"
        case revokeInvitation = "/cases/:caseID/invitation/revoke"
        case removePatientAccess = "/cases/:caseID/patient/remove"
        case caseAttachments = "/cases/:caseID/attachments"
        case caseAttachment = "/cases/:caseID/attachments/:fileID"
        case patientTalkUpload = "/uploads/cases/:caseID/talk"
        case conversationUpload = "/uploads/inbox/:conversationID"
        case patientTalkFiles = "/uploads/cases/:caseID/talk/files"
        case conversationFiles = "/uploads/inbox/:conversationID/files"
        case file = "/files/:fileID"
        case devMailbox = "/dev/mailbox"
        case devMailboxItem = "/dev/mailbox/:itemID"
        case devMailboxItemHTML = "/dev/mailbox/:itemID/html"
    }

    /// Routes under this prefix read their bodies as they stream in (files of up to hundreds of
    /// MB), so the CSRF check that reads a whole form first cannot run before them: they check
    /// the token themselves, before storing anything (see `Uploads`).
    public static let uploadPrefix = "/uploads/"

    public var route: Route {
        switch self {
        case .home: .home
        case .signIn: .signIn
        case .signOut: .signOut
        case .sessionAlive: .sessionAlive
        case .twoStep: .twoStep
        case .twoStepSetup: .twoStepSetup
        case .signInVerify: .signInVerify
        case .codeMethod(let flow, _):
            switch flow { case .registration: .registrationMethod; case .passwordReset: .resetMethod; case .signIn: .signInMethod }
        case .code(let flow, _, _):
            switch flow { case .registration: .registrationCode; case .passwordReset: .resetCode; case .signIn: .signInCode }
        case .codeResend(let flow):
            switch flow {
            case .registration: .registrationCodeResend; case .passwordReset: .resetCodeResend; case .signIn: .signInCodeResend
            }
        case .forgotPassword: .forgotPassword
        case .resetLink: .resetLink
        case .resetStart: .resetStart
        case .resetPassword: .resetPassword
        case .invitationLink: .invitationLink
        case .registration: .registration
        case .registrationStep(let step):
            switch step {
            case .birthDate: .birthDate; case .phones: .phones; case .method: .registrationMethod
            case .code: .registrationCode; case .terms: .terms; case .password: .registrationPassword
            }
        case .acceptInvitation: .acceptInvitation
        case .portal: .portal
        case .inbox: .inbox
        case .conversation: .conversation
        case .cases: .cases
        case .newCase: .newCase
        case .practice: .practice
        case .unlockStaff: .unlockStaff
        case .departure: .departure
        case .reactivateStaff: .reactivateStaff
        case .resetTwoStep: .resetTwoStep
        case .editStaff: .editStaff
        case .inviteStaff: .inviteStaff
        case .practiceSettings: .practiceSettings
        case .account: .account
        case .accountPassword: .accountPassword
        case .accountSignOutOthers: .accountSignOutOthers
        case .accountRecoveryCodes: .accountRecoveryCodes
        case .resendStaffInvitation: .resendStaffInvitation
        case .cancelStaffInvitation: .cancelStaffInvitation
        case .staffInvitationLink: .staffInvitationLink
        case .caseOverview: .caseOverview
        case .caseMembers: .caseMembers
        case .removeMember: .removeMember
        case .patientTalk: .patientTalk
        case .invite: .invite
        case .resendInvitation: .resendInvitation
        case .revokeInvitation: .revokeInvitation
        case .removePatientAccess: .removePatientAccess
        case .caseAttachments: .caseAttachments
        case .caseAttachment: .caseAttachment
        case .patientTalkUpload: .patientTalkUpload
        case .conversationUpload: .conversationUpload
        case .patientTalkFiles: .patientTalkFiles
        case .conversationFiles: .conversationFiles
        case .file: .file
        case .devMailbox: .devMailbox
        case .devMailboxItem: .devMailboxItem
        case .devMailboxItemHTML: .devMailboxItemHTML
        }
    }

    /// The values of the route's parameters, in order.
    var parameters: [String] {
        switch self {
        case .resetLink(let token), .invitationLink(let token), .staffInvitationLink(let token): [token]
        case .conversation(let id, _, _), .caseOverview(let id, _, _), .caseMembers(let id), .patientTalk(let id, _, _),
             .invite(let id), .resendInvitation(let id), .revokeInvitation(let id), .removePatientAccess(let id),
             .patientTalkUpload(let id), .conversationUpload(let id), .patientTalkFiles(let id), .conversationFiles(let id), .file(let id, _, _), .caseAttachments(let id, _, _),
             .devMailboxItem(let id), .devMailboxItemHTML(let id), .unlockStaff(let id),
             .departure(let id), .reactivateStaff(let id), .editStaff(let id), .resetTwoStep(let id), .resendStaffInvitation(let id),
             .cancelStaffInvitation(let id):
            [id.uuidString]
        case .caseAttachment(let id, let file, _, _): [id.uuidString, file.uuidString]
        case .removeMember(let id, let staff): [id.uuidString, staff.uuidString]
        default: []
        }
    }

    /// The query's names and values, in order; absent values are left out.
    var query: [(String, String)] {
        var items: [(String, String?)] = []
        switch self {
        case .signIn(let next, let notice): items = [("next", next), (notice?.rawValue ?? "", notice.map { _ in "1" })]
        case .twoStep(let recovery, let next): items = [("recovery", recovery ? "1" : nil), ("next", next)]
        case .twoStepSetup(let next), .codeMethod(_, let next): items = [("next", next)]
        case .code(_, let sentAgain, let next): items = [("sent", sentAgain ? "again" : nil), ("next", next)]
        case .forgotPassword(let sent): items = [("sent", sent ? "1" : nil)]
        case .portal(let joined): items = [("joined", joined ? "1" : nil)]
        case .practice(let done): items = [("done", done?.rawValue)]
        case .account(let done): items = [("done", done?.rawValue)]
        case .inbox(let page): items = [("page", page.map(String.init))]
        case .cases(let page, let left): items = [("page", page.map(String.init)), ("left", left ? "1" : nil)]
        case .conversation(_, let page, let sent): items = [("page", page.map(String.init)), ("sent", sent ? "1" : nil)]
        case .caseOverview(_, let search, let done): items = [("q", search), ("done", done?.rawValue)]
        case .patientTalk(_, let page, let done): items = [("page", page.map(String.init)), ("done", done?.rawValue)]
        case .file(_, let download, let size): items = [("download", download ? "1" : nil), ("size", size?.rawValue)]
        case .caseAttachments(_, let show, let sort), .caseAttachment(_, _, let show, let sort):
            items = [("show", show?.rawValue), ("sort", sort?.rawValue)]
        default: break
        }
        return items.compactMap { name, value in value.map { (name, $0) } }
    }

    /// The path and query, as a link or a redirect takes it. Written byte by byte: pages make a
    /// path for every row they link, so this is on the render's hot path.
    public var path: String {
        var out: [UInt8] = []
        out.reserveCapacity(96)
        var values = parameters.makeIterator()
        let pattern = Array(route.rawValue.utf8)
        var index = 0
        while index < pattern.count {
            if pattern[index] == UInt8(ascii: ":") {
                while index < pattern.count && pattern[index] != UInt8(ascii: "/") { index += 1 }
                Self.escape(values.next() ?? "", keepingSlash: false, into: &out)
            } else {
                out.append(pattern[index])
                index += 1
            }
        }
        var separator = UInt8(ascii: "?")
        for (name, value) in query {
            out.append(separator)
            out.append(contentsOf: name.utf8)
            out.append(UInt8(ascii: "="))
            Self.escape(value, keepingSlash: true, into: &out)
            separator = UInt8(ascii: "&")
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The whole link, for an email: `base` is the public address without a trailing slash.
    public func url(base: URL) -> String { base.absoluteString + path }

    /// ASCII letters, digits and `-_.~` stay (and `/` in a query value, which is often a path);
    /// every other byte of the UTF-8 is percent-encoded, so a value cannot end its segment or its
    /// parameter.
    public static func escape(_ value: String, keepingSlash: Bool, into out: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
    }
}

/// The files under `Public/` that pages link to.
public enum Asset: String, CaseIterable, Sendable {
    case stylesheet = "/css/app.css"
    case script = "/js/app.js"
    case commonPasswords = "/data/common-passwords.txt"
}
