import CaseTalkCore
import Vapor

/// What the shared layout needs on every page: the title, the signed-in person, the CSRF token
/// for the sign-out form, and an optional notice.
struct PageChrome: Encodable, Sendable {
    var title: String
    var csrf: String?
    var userName: String?
    var practiceName: String?
    var notice: String?
    /// A patient's pages link home to the portal rather than to View Cases.
    var isPatient: Bool
    /// The idle sign-out (SPEC §5) and the warning a minute before it, for the page script.
    let idleTimeoutSeconds = Int(SessionLifetime.idleTimeout)
    let idleWarningSeconds = Int(SessionLifetime.idleTimeout) - 60

    init(title: String, csrf: String? = nil, userName: String? = nil, practiceName: String? = nil, notice: String? = nil,
         isPatient: Bool = false) {
        self.title = title; self.csrf = csrf; self.userName = userName
        self.practiceName = practiceName; self.notice = notice; self.isPatient = isPatient
    }
}

extension Request {
    /// The chrome for a page seen by the signed-in staff user.
    func staffChrome(_ title: String, notice: String? = nil) throws -> PageChrome {
        let staff = try requireStaff()
        return PageChrome(title: title, csrf: session?.csrfToken, userName: staff.name,
                          practiceName: staff.practiceName, notice: notice)
    }
}
