import CaseTalkCore
import Foundation

/// **Account** (SPEC §9): every staff member's own password, sessions and recovery codes.
public struct AccountModel: Sendable {
    public struct Session: Sendable {
        public let started: String; public let lastActive: String; public let current: Bool
        public init(started: String, lastActive: String, current: Bool) { self.started = started; self.lastActive = lastActive; self.current = current }
    }
    public let chrome: PageChrome
    public let email: String
    public let sessions: [Session]
    /// The password form's checklist and its problems.
    public let rules: [PasswordModel.Rule]
    public let emailName: String
    public let passwordErrors: [String]
    public init(chrome: PageChrome, email: String, sessions: [Session], rules: [PasswordModel.Rule], emailName: String,
                passwordErrors: [String]) {
        self.chrome = chrome; self.email = email; self.sessions = sessions; self.rules = rules; self.emailName = emailName
        self.passwordErrors = passwordErrors
    }
}

public enum AccountView {
    public static func render(_ model: AccountModel) -> HTML {
        let rows = HTML.each(model.sessions) { session in
            let here: HTML = session.current ? " <span class=\"badge\">This browser</span>" : HTML()
            return "<tr><td data-label=\"Signed in\">\(session.started)\(here)</td><td data-label=\"Last active\">\(session.lastActive)</td></tr>"
        }
        let others = model.sessions.filter { !$0.current }.count
        let signOut: HTML = others == 0 ? "<p class=\"muted\">You are signed in nowhere else.</p>" : """
          <form method="post" action="\(Paths.accountSignOutOthers)" class="form">
            \(Form.csrf(model.chrome.csrf))
            <div class="actions"><button type="submit" class="button">Sign out other sessions</button></div>
          </form>
          """
        return Layout.page(model.chrome, """
        <div class="page-head"><h1>Account</h1></div>
        <p class="muted">\(model.email)</p>
        <section class="card" aria-labelledby="password-heading">
          <h2 id="password-heading">Change password</h2>
          <p>Every other place you are signed in is signed out.</p>
          \(Form.summary(model.passwordErrors))
          <form method="post" action="\(Paths.accountPassword)" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            <div class="field">
              <label for="current">Current password</label>
              <input id="current" name="current" type="password" autocomplete="current-password" maxlength="\(number: PasswordPolicy.maxLength)">
            </div>
            \(PasswordView.fields(rules: model.rules, emailName: model.emailName, minLength: PasswordPolicy.minLength,
                                  maxLength: PasswordPolicy.maxLength))
            <div class="actions"><button type="submit" class="button button-primary">Change password</button></div>
          </form>
        </section>
        <section class="card" aria-labelledby="sessions-heading">
          <h2 id="sessions-heading">Signed-in sessions</h2>
          <table class="table">
            <caption class="visually-hidden">Where you are signed in, most recently active first</caption>
            <thead><tr><th scope="col">Signed in</th><th scope="col">Last active</th></tr></thead>
            <tbody>\(rows)</tbody>
          </table>
          \(signOut)
        </section>
        <section class="card" aria-labelledby="codes-heading">
          <h2 id="codes-heading">New recovery codes</h2>
          <p>Ten new codes replace every earlier one; they are shown once.</p>
          <form method="post" action="\(Paths.accountRecoveryCodes)" class="form">
            \(Form.csrf(model.chrome.csrf))
            <div class="actions"><button type="submit" class="button">New recovery codes</button></div>
          </form>
        </section>
        """)
    }
}
