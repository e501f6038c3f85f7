import CaseTalkCore
import Foundation

/// Sign In (SPEC §5).
public struct SignInModel: Sendable {
    public let chrome: PageChrome
    public let email: String
    public let next: String?
    public let error: String?
    public init(chrome: PageChrome, email: String, next: String?, error: String?) {
        self.chrome = chrome; self.email = email; self.next = next; self.error = error
    }
}

public enum SignInView {
    public static func render(_ model: SignInModel) -> HTML {
        Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="signin-heading">
          <h1 id="signin-heading">Sign In</h1>
          <p class="lead">For practice staff and patients.</p>
          \(Form.alert(model.error))
          <form method="post" action="\(Paths.signIn())" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.next(model.next))
            \(Form.field("email", label: "Email", value: model.email, error: nil,
                         attributes: "type=\"text\" inputmode=\"email\" autocapitalize=\"none\" spellcheck=\"false\" autocomplete=\"username\" required maxlength=\"254\" autofocus"))
            \(Form.field("password", label: "Password", value: nil, error: nil,
                         attributes: "type=\"password\" autocomplete=\"current-password\" required maxlength=\"1024\""))
            <div class="actions">
              <button type="submit" class="button button-primary">Sign In</button>
              <a class="button button-quiet" href="\(Paths.forgotPassword())">Forgot password?</a>
            </div>
          </form>
        </section>
        """)
    }
}

/// Forgot password? (SPEC §4).
public struct ForgotPasswordModel: Sendable {
    public let chrome: PageChrome
    public let email: String
    public let error: String?
    public init(chrome: PageChrome, email: String, error: String?) { self.chrome = chrome; self.email = email; self.error = error }
}

public enum ForgotPasswordView {
    public static func render(_ model: ForgotPasswordModel) -> HTML {
        Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="forgot-heading">
          <h1 id="forgot-heading">Forgot password?</h1>
          <p class="lead">Enter the email address you sign in with. We will email you a link, then send a secret code to the phone number you confirmed when you registered.</p>
          \(Form.alert(model.error))
          <form method="post" action="\(Paths.forgotPassword())" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.field("email", label: "Email", value: model.email, error: model.error, placement: .summaryOnly,
                         attributes: "type=\"text\" inputmode=\"email\" autocapitalize=\"none\" spellcheck=\"false\" autocomplete=\"username\" required maxlength=\"254\" autofocus"))
            <div class="actions">
              <button type="submit" class="button button-primary">Send Reset Link</button>
              <a class="button button-quiet" href="\(Paths.signIn())">Back to Sign In</a>
            </div>
          </form>
        </section>
        """)
    }
}

/// The authenticator's code at sign-in, or a recovery code instead.
public struct TwoStepModel: Sendable {
    public let chrome: PageChrome
    public let recovery: Bool
    public let next: String?
    public let error: String?
    public init(chrome: PageChrome, recovery: Bool, next: String?, error: String?) {
        self.chrome = chrome; self.recovery = recovery; self.next = next; self.error = error
    }
}

/// The attributes of an authenticator code field.
private let totpAttributes: StaticString =
    "type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9 ]*\" maxlength=\"8\" class=\"input-code\""

public enum TwoStepView {
    public static func render(_ model: TwoStepModel) -> HTML {
        let field: HTML = model.recovery ? """
          <p>Enter one of the recovery codes you saved when you set up two-step verification. Each works once.</p>
          \(Form.field("recovery_code", label: "Recovery code", value: nil, error: model.error, placement: .summaryOnly,
                       attributes: "type=\"text\" autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"64\" autofocus"))
        """ : """
          <p>Open your authenticator app and enter the 6-digit code it shows for CaseTalk.</p>
          \(Form.field("code", label: "Code", value: nil, error: model.error, placement: .summaryOnly,
                       attributes: "type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9 ]*\" maxlength=\"8\" class=\"input-code\" autofocus"))
        """
        let other: HTML = model.recovery
            ? "<a class=\"button button-quiet\" href=\"\(Paths.twoStep(next: model.next))\">Use the code from your app</a>"
            : "<a class=\"button button-quiet\" href=\"\(Paths.twoStep(recovery: true, next: model.next))\">Use a recovery code</a>"
        return Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="two-step-heading">
          <h1 id="two-step-heading">Two-step verification</h1>
          \(Form.alert(model.error))
          <form method="post" action="\(Paths.twoStep())" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.next(model.next))
            \(field)
            <div class="actions">
              <button type="submit" class="button button-primary">Verify</button>
              \(other)
            </div>
          </form>
        </section>
        """)
    }
}

/// Set up two-step verification: the QR code, the key, the first code.
public struct TwoStepSetupModel: Sendable {
    public let chrome: PageChrome
    /// The QR code as an SVG path and its side (`QRCode.svgPath`); empty if it cannot be drawn.
    public let qrPath: String
    public let qrSide: Int
    public let key: String
    public let next: String?
    public let error: String?
    public init(chrome: PageChrome, qrPath: String, qrSide: Int, key: String, next: String?, error: String?) {
        self.chrome = chrome; self.qrPath = qrPath; self.qrSide = qrSide; self.key = key; self.next = next; self.error = error
    }
}

public enum TwoStepSetupView {
    public static func render(_ model: TwoStepSetupModel) -> HTML {
        let side = model.qrSide
        let qr: HTML = model.qrPath.isEmpty ? HTML() : """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(number: side) \(number: side)" shape-rendering="crispEdges" role="img" aria-label="QR code with your CaseTalk two-step verification key"><rect width="\(number: side)" height="\(number: side)" fill="#fff"/><path d="\(model.qrPath)" fill="#000"/></svg>
        """
        return Layout.page(model.chrome, """
        <section class="card" aria-labelledby="setup-heading">
          <h1 id="setup-heading">Set up two-step verification</h1>
          <p class="lead">Every CaseTalk practice account signs in with a password and a code from an authenticator app on your phone (for example Google Authenticator, Microsoft Authenticator or 1Password).</p>
          \(Form.alert(model.error))
          <ol class="setup-steps">
            <li>Open your authenticator app and add an account.</li>
            <li>Scan this QR code:
              <div class="qr-code">\(qr)</div>
              <p>Or type this key: <code class="totp-key" id="totp-key">\(model.key)</code> <span class="muted">(time-based, 6 digits)</span></p>
            </li>
            <li>Enter the 6-digit code the app now shows.</li>
          </ol>
          <form method="post" action="\(Paths.twoStepSetup())" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.next(model.next))
            \(Form.field("code", label: "Code", value: nil, error: model.error, placement: .summaryOnly, attributes: totpAttributes))
            <div class="actions">
              <button type="submit" class="button button-primary">Turn on two-step verification</button>
            </div>
          </form>
          <form method="post" action="\(Paths.signOut)" class="inline-form">
            \(Form.csrf(model.chrome.csrf))
            <button type="submit" class="button button-quiet">Cancel and sign out</button>
          </form>
        </section>
        """)
    }
}

/// The recovery codes, shown once after two-step verification is turned on.
public struct RecoveryCodesModel: Sendable {
    public let chrome: PageChrome
    public let codes: [String]
    /// Where **I have saved them** goes: a validated relative path.
    public let next: String
    public init(chrome: PageChrome, codes: [String], next: String) { self.chrome = chrome; self.codes = codes; self.next = next }
}

public enum RecoveryCodesView {
    public static func render(_ model: RecoveryCodesModel) -> HTML {
        Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="codes-heading">
          <h1 id="codes-heading">Save your recovery codes</h1>
          <p>Two-step verification is on. If you lose your phone, each of these codes signs you in once instead of a code from the app. Print them or keep them in a password manager: <strong>they are shown only now</strong>.</p>
          <ul class="recovery-codes" aria-label="Recovery codes">
            \(HTML.each(model.codes) { "<li><code>\($0)</code></li>" })
          </ul>
          <div class="actions">
            <a class="button button-primary" href="\(model.next)">I have saved them</a>
          </div>
        </section>
        """)
    }
}

/// Every error page: the status's phrase as the title, a patient-safe message.
public struct ErrorModel: Sendable {
    public let chrome: PageChrome
    public let message: String
    public init(chrome: PageChrome, message: String) { self.chrome = chrome; self.message = message }
}

public enum ErrorView {
    public static func render(_ model: ErrorModel) -> HTML {
        Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="error-heading">
          <h1 id="error-heading">\(model.chrome.title)</h1>
          <p>\(model.message)</p>
          <p><a href="\(Paths.home)">Go to the start page</a></p>
        </section>
        """)
    }
}
