import CaseTalkCore

/// What the shared layout needs on every page: the title, the signed-in person, the CSRF token
/// for the sign-out form, and an optional notice.
public struct PageChrome: Sendable {
    public var title: String
    public var csrf: String?
    public var userName: String?
    public var practiceName: String?
    public var notice: String?
    /// A patient's pages link home to the portal rather than to View Cases.
    public var isPatient: Bool
    /// A practice admin's pages also link to **Practice** (SPEC §9).
    public var isPracticeAdmin: Bool
    /// The idle sign-out (SPEC §5) and the warning a minute before it, for the page script.
    public let idleTimeoutSeconds = Int(SessionLifetime.idleTimeout)
    public let idleWarningSeconds = Int(SessionLifetime.idleTimeout) - 60

    public init(title: String, csrf: String? = nil, userName: String? = nil, practiceName: String? = nil, notice: String? = nil,
                isPatient: Bool = false, isPracticeAdmin: Bool = false) {
        self.title = title; self.csrf = csrf; self.userName = userName
        self.practiceName = practiceName; self.notice = notice; self.isPatient = isPatient; self.isPracticeAdmin = isPracticeAdmin
    }
}

/// The page around every page's content: head, top bar with the account and Sign Out, the
/// notice, the footer.
public enum Layout {
    public static func page(_ chrome: PageChrome, _ content: HTML) -> HTML {
        var idle = HTML()
        var account = HTML()
        if let userName = chrome.userName {
            idle = " data-idle-warning=\"\(number: chrome.idleWarningSeconds)\" data-idle-timeout=\"\(number: chrome.idleTimeoutSeconds)\""
            var home: HTML = chrome.isPatient ? "<a href=\"\(Paths.portal())\">Home</a>" : "<a href=\"\(Paths.cases())\">View Cases</a>"
            if chrome.isPracticeAdmin { home = "\(home) <a href=\"\(Paths.practice())\">Practice</a>" }
            if !chrome.isPatient { home = "\(home) <a href=\"\(Paths.account())\">Account</a>" }
            let practice: HTML = chrome.practiceName.map { "<span class=\"account-practice\"> · \($0)</span>" } ?? HTML()
            account = """
              <nav class="topnav" aria-label="Main">\(home)</nav>
              <div class="account">
                <span class="account-name">\(userName)\(practice)</span>
                <form method="post" action="\(Paths.signOut)" class="inline-form">
                  \(Form.csrf(chrome.csrf))
                  <button type="submit" class="button button-quiet">Sign Out</button>
                </form>
              </div>
            """
        }
        let notice: HTML = chrome.notice.map { "<p class=\"notice\" role=\"status\">\($0)</p>" } ?? HTML()
        return """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>\(chrome.title) · CaseTalk</title>
          <link rel="stylesheet" href="\(Asset.stylesheet)">
          <script src="\(Asset.script)" defer></script>
        </head>
        <body\(idle)>
          <a class="skip-link" href="#main">Skip to content</a>
          <header class="topbar">
            <div class="topbar-inner">
              <a class="brand" href="\(Paths.home)">CaseTalk</a>
              \(account)
            </div>
          </header>
          <main id="main" class="page" tabindex="-1">
            \(notice)
            \(content)
          </main>
          <footer class="footer"><p>CaseTalk · secure collaboration for dental and medical practices</p></footer>
        </body>
        </html>
        """
    }
}
