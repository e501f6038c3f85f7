import Vapor

/// What the shared layout needs on every page: the title, the signed-in person, the CSRF token
/// for the sign-out form, and an optional notice.
struct PageChrome: Encodable, Sendable {
    var title: String
    var csrf: String?
    var userName: String?
    var practiceName: String?
    var notice: String?

    init(title: String, csrf: String? = nil, userName: String? = nil, practiceName: String? = nil, notice: String? = nil) {
        self.title = title; self.csrf = csrf; self.userName = userName
        self.practiceName = practiceName; self.notice = notice
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
