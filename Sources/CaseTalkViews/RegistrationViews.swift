import CaseTalkCore
import Foundation

/// The step list at the top of every registration step page.
public struct StepsModel: Sendable {
    public struct Item: Sendable { public let number: Int; public let title: String; public let current: Bool; public let done: Bool }
    public let items: [Item]
    public let current: Int
    public let total: Int
    public let title: String

    public init(_ step: RegistrationStep, of list: [RegistrationStep]) {
        items = list.enumerated().map { index, each in
            Item(number: index + 1, title: each.title, current: each == step, done: each < step)
        }
        current = (list.firstIndex(of: step) ?? 0) + 1
        total = list.count
        title = step.title
    }

    func render() -> HTML {
        let items = HTML.each(items) { item in
            let state: HTML = item.current ? "step-current" : item.done ? "step-done" : "step-todo"
            let current: HTML = item.current ? " aria-current=\"step\"" : HTML()
            let done: HTML = item.done ? "<span class=\"visually-hidden\"> (done)</span>" : HTML()
            return "<li class=\"\(state)\"\(current)>\(item.title)\(done)</li>"
        }
        return """
        <nav class="steps" aria-label="Registration steps">
          <p class="steps-caption">Step \(number: current) of \(number: total)</p>
          <ol>\(items)</ol>
        </nav>
        """
    }
}

extension Optional where Wrapped == StepsModel {
    func render() -> HTML { map { $0.render() } ?? HTML() }
}

/// The opening sentence of the first registration pages.
private func invitedBy(_ memberName: String, _ practiceName: String) -> HTML {
    "<p>\(memberName) at \(practiceName) invited you to CaseTalk, the secure portal they use to talk with you. A secure message is waiting for you.</p>"
}

public struct BirthDateModel: Sendable {
    public let chrome: PageChrome
    public let steps: StepsModel
    public let memberName: String
    public let practiceName: String
    public let value: String
    public let error: String?
    public init(chrome: PageChrome, steps: StepsModel, memberName: String, practiceName: String, value: String, error: String?) {
        self.chrome = chrome; self.steps = steps; self.memberName = memberName; self.practiceName = practiceName
        self.value = value; self.error = error
    }
}

public enum BirthDateView {
    public static func render(_ model: BirthDateModel) -> HTML {
        Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="step-heading">
          \(model.steps.render())
          <h1 id="step-heading">Date of birth</h1>
          \(invitedBy(model.memberName, model.practiceName))
          <p>First, to make sure this invitation reached the right person, enter your date of birth.</p>
          \(Form.alert(model.error))
          <form method="post" action="\(Paths.registrationStep(.birthDate))" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.field("birth_date", label: "Date of birth", value: model.value, error: model.error, hint: "For example 04/27/1986.",
                         attributes: "type=\"date\" autocomplete=\"bday\""))
            <div class="actions">
              <button type="submit" class="button button-primary">Continue</button>
            </div>
          </form>
        </section>
        """)
    }
}

public struct PhoneValues: Sendable {
    public var mobile = "", home = "", work = ""
    public init(mobile: String = "", home: String = "", work: String = "") { self.mobile = mobile; self.home = home; self.work = work }
}

public struct PhonesModel: Sendable {
    public let chrome: PageChrome
    public let steps: StepsModel
    public let memberName: String
    public let practiceName: String
    public let values: PhoneValues
    public let errors: [String: String]
    public let errorList: [String]
    public init(chrome: PageChrome, steps: StepsModel, memberName: String, practiceName: String, values: PhoneValues, errors: FieldErrors) {
        self.chrome = chrome; self.steps = steps; self.memberName = memberName; self.practiceName = practiceName
        self.values = values; self.errors = errors.byField; self.errorList = errors.messages.map(\.message)
    }
}

public enum PhonesView {
    public static func render(_ model: PhonesModel) -> HTML {
        let values = model.values, errors = model.errors
        return Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="step-heading">
          \(model.steps.render())
          <h1 id="step-heading">Phone numbers</h1>
          \(invitedBy(model.memberName, model.practiceName))
          <p>To keep your messages safe we confirm your phone with a secret code. Enter at least one number. US numbers need no +1; for other countries, start with + and the country code.</p>
          \(Form.summary(model.errorList))
          <form method="post" action="\(Paths.registrationStep(.phones))" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.field("mobile", label: "Mobile", value: values.mobile, error: errors["mobile"],
                         hint: "Can receive the code by text message or voice call.",
                         attributes: "type=\"tel\" autocomplete=\"mobile tel\" maxlength=\"40\""))
            \(Form.field("home", label: "Home", value: values.home, error: errors["home"],
                         attributes: "type=\"tel\" autocomplete=\"home tel\" maxlength=\"40\""))
            \(Form.field("work", label: "Work", value: values.work, error: errors["work"],
                         attributes: "type=\"tel\" autocomplete=\"work tel\" maxlength=\"40\""))
            <div class="actions">
              <button type="submit" class="button button-primary">Continue</button>
            </div>
          </form>
        </section>
        """)
    }
}

/// Delivery method: a registration's, a password reset's or a new browser's sign-in.
public struct MethodModel: Sendable {
    public struct Option: Sendable {
        public let value: String; public let label: String; public let number: String; public let checked: Bool
        public init(value: String, label: String, number: String, checked: Bool) {
            self.value = value; self.label = label; self.number = number; self.checked = checked
        }
    }
    public let chrome: PageChrome
    public let flow: Paths.CodeFlow
    public let steps: StepsModel?
    public let why: String?
    public let next: String?
    public let options: [Option]
    public let error: String?
    public init(chrome: PageChrome, flow: Paths.CodeFlow, steps: StepsModel?, why: String?, next: String?, options: [Option], error: String?) {
        self.chrome = chrome; self.flow = flow; self.steps = steps; self.why = why; self.next = next
        self.options = options; self.error = error
    }
}

public enum MethodView {
    public static func render(_ model: MethodModel) -> HTML {
        let options = HTML.each(model.options) { option in
            let checked: HTML = option.checked ? " checked" : HTML()
            return """
            <div class="choice">
              <input type="radio" id="route-\(option.value)" name="route" value="\(option.value)"\(checked)>
              <label for="route-\(option.value)">\(option.label) <span class="muted">(\(option.number))</span></label>
            </div>
            """
        }
        let why: HTML = model.why.map { "<p>\($0)</p>" } ?? HTML()
        let changePhones: HTML = HTML.when(model.steps != nil,
            "<a class=\"button button-quiet\" href=\"\(Paths.registrationStep(.phones))\">Change phone numbers</a>")
        return Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="step-heading">
          \(model.steps.render())
          <h1 id="step-heading">Delivery method</h1>
          \(why)
          \(Form.alert(model.error))
          <form method="post" action="\(Paths.codeMethod(model.flow))" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.next(model.next))
            <fieldset class="choices">
              <legend>How should we send your secret code?</legend>
              \(options)
            </fieldset>
            <p class="hint">Text messages can only go to a mobile number. The code is valid for 10 minutes.</p>
            <div class="actions">
              <button type="submit" class="button button-primary">Continue</button>
              \(changePhones)
            </div>
          </form>
        </section>
        """)
    }
}

/// Enter code, for the same three flows.
public struct CodeModel: Sendable {
    public let chrome: PageChrome
    public let flow: Paths.CodeFlow
    public let steps: StepsModel?
    /// "by text message to your mobile number ending in 23"
    public let sentTo: String
    /// Seconds until Re-Send Code may be used (the page counts down).
    public let waitSeconds: Int
    public let offersRemember: Bool
    public let next: String?
    public let error: String?
    public init(chrome: PageChrome, flow: Paths.CodeFlow, steps: StepsModel?, sentTo: String, waitSeconds: Int, offersRemember: Bool,
                next: String?, error: String?) {
        self.chrome = chrome; self.flow = flow; self.steps = steps; self.sentTo = sentTo
        self.waitSeconds = waitSeconds; self.offersRemember = offersRemember; self.next = next; self.error = error
    }
}

public enum CodeView {
    public static func render(_ model: CodeModel) -> HTML {
        let csrf = Form.csrf(model.chrome.csrf)
        let remember: HTML = HTML.when(model.offersRemember, """
        <div class="choice">
          <input type="checkbox" id="remember" name="remember" value="on">
          <label for="remember">Remember this browser for 30 days</label>
        </div>
        <p class="hint">Only on a computer or phone that is yours. Changing your password forgets every remembered browser.</p>
        """)
        let wait: HTML = model.waitSeconds > 0
            ? "You can ask for a new code in \(number: model.waitSeconds) seconds."
            : "Didn't get it? You can ask for a new code."
        return Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="step-heading">
          \(model.steps.render())
          <h1 id="step-heading">Enter code</h1>
          <p>We sent a 6-digit code \(model.sentTo). It is valid for 10 minutes.</p>
          \(Form.alert(model.error))
          <form method="post" action="\(Paths.code(model.flow))" class="form" novalidate>
            \(csrf)
            \(Form.next(model.next))
            \(Form.field("code", label: "Secret code", value: nil, error: model.error, placement: .summaryOnly,
                         attributes: "type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]*\" maxlength=\"6\" class=\"input-code\" autofocus"))
            \(remember)
            <div class="actions">
              <button type="submit" class="button button-primary">Continue</button>
            </div>
          </form>
          <div class="code-help">
            <form method="post" action="\(Paths.codeResend(model.flow))" class="inline-form">
              \(csrf)
              \(Form.next(model.next))
              <button type="submit" class="button" data-wait-for="resend-wait">Re-Send Code</button>
            </form>
            <a class="button button-quiet" href="\(Paths.codeMethod(model.flow, next: model.next))">Change Delivery Method</a>
          </div>
          <p id="resend-wait" class="hint" data-countdown="\(number: model.waitSeconds)" aria-live="polite">\(wait)</p>
        </section>
        """)
    }
}

public struct TermsModel: Sendable {
    public let chrome: PageChrome
    public let steps: StepsModel
    public let version: String
    public let sections: [TermsOfUse.Section]
    public let error: String?
    public init(chrome: PageChrome, steps: StepsModel, version: String, sections: [TermsOfUse.Section], error: String?) {
        self.chrome = chrome; self.steps = steps; self.version = version; self.sections = sections; self.error = error
    }
}

public enum TermsView {
    public static func render(_ model: TermsModel) -> HTML {
        let text = HTML.each(model.sections) { section in
            let heading: HTML = section.heading.map { "<h2>\($0)</h2>" } ?? HTML()
            return "\(heading)\(HTML.each(section.paragraphs) { "<p>\($0)</p>" })"
        }
        return Layout.page(model.chrome, """
        <section class="card" aria-labelledby="step-heading">
          \(model.steps.render())
          <h1 id="step-heading">Terms of Use</h1>
          <p>Please read the Terms of Use to the end. <span class="muted">Version \(model.version).</span></p>
          \(Form.alert(model.error))
          <div class="terms-box" id="terms-text" tabindex="0" role="region" aria-label="Terms of Use text" data-terms-box>
            \(text)
          </div>
          <form method="post" action="\(Paths.registrationStep(.terms))" class="form" novalidate data-terms-form>
            \(Form.csrf(model.chrome.csrf))
            <input type="hidden" name="scrolled" value="no" data-terms-scrolled>
            <div class="choice">
              <input type="checkbox" id="terms-read" name="read" value="yes">
              <label for="terms-read">I have read the Terms of Use</label>
            </div>
            <p class="hint" id="terms-hint" data-terms-hint>I Accept becomes available when you reach the end of the Terms, or when you tick the box.</p>
            <div class="actions">
              <button type="submit" class="button button-primary" data-terms-accept aria-describedby="terms-hint">I Accept</button>
            </div>
          </form>
        </section>
        """)
    }
}

/// Set password (a registration, a staff invitation) or Choose a new password (a reset).
public struct PasswordModel: Sendable {
    public struct Rule: Sendable {
        public let key: String; public let label: String; public let unmet: Bool
        public init(key: String, label: String, unmet: Bool) { self.key = key; self.label = label; self.unmet = unmet }
    }
    public let chrome: PageChrome
    /// Where the form posts.
    public let action: Paths
    public let steps: StepsModel?
    /// "Set password", or "Choose a new password" for a reset.
    public let heading: String
    public let email: String
    /// The email address's name part, for the page's live check of that rule.
    public let emailName: String
    public let rules: [Rule]
    public let errorList: [String]
    public let minLength: Int
    public let maxLength: Int
    public init(chrome: PageChrome, action: Paths, steps: StepsModel?, heading: String, email: String, emailName: String,
                rules: [Rule], errorList: [String], minLength: Int, maxLength: Int) {
        self.chrome = chrome; self.action = action; self.steps = steps; self.heading = heading
        self.email = email; self.emailName = emailName; self.rules = rules; self.errorList = errorList
        self.minLength = minLength; self.maxLength = maxLength
    }
}

public enum PasswordView {
    public static func render(_ model: PasswordModel) -> HTML {
        Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="step-heading">
          \(model.steps.render())
          <h1 id="step-heading">\(model.heading)</h1>
          <p>You will sign in with <strong>\(model.email)</strong> and this password.</p>
          \(Form.summary(model.errorList))
          <form method="post" action="\(model.action)" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(fields(rules: model.rules, emailName: model.emailName, minLength: model.minLength, maxLength: model.maxLength))
            <div class="actions">
              <button type="submit" class="button button-primary">Continue</button>
            </div>
          </form>
        </section>
        """)
    }

    /// **Password** and **Confirm Password** with the live checklist (SPEC §3), as every form
    /// that sets a password shows them.
    public static func fields(rules: [PasswordModel.Rule], emailName: String, minLength: Int, maxLength max: Int) -> HTML {
        let items = HTML.each(rules) { rule in
            let state: HTML = rule.unmet ? "rule-unmet" : "rule-met"
            let said: HTML = rule.unmet ? "Not met yet:" : "Met:"
            return "<li data-rule=\"\(rule.key)\" class=\"\(state)\"><span class=\"rule-state\">\(said)</span> \(rule.label)</li>"
        }
        return """
            <div class="field">
              <label for="password">Password</label>
              <input id="password" name="password" type="password" autocomplete="new-password" maxlength="\(number: max)" aria-describedby="password-rules">
            </div>
            <div class="field">
              <label for="confirmation">Confirm Password</label>
              <input id="confirmation" name="confirmation" type="password" autocomplete="new-password" maxlength="\(number: max)" aria-describedby="password-rules">
            </div>
            <div class="password-rules" id="password-rules">
              <p class="rules-heading">Your password needs to be:</p>
              <ul data-password-rules data-email-name="\(emailName)" data-min="\(number: minLength)" data-max="\(number: max)" data-common-list="\(Asset.commonPasswords)">
                \(items)
              </ul>
            </div>
            """
    }
}

/// A registration that cannot go on (a link that ended, say).
public struct StoppedModel: Sendable {
    public let chrome: PageChrome
    public let heading: String
    public let message: String
    public init(chrome: PageChrome, heading: String, message: String) { self.chrome = chrome; self.heading = heading; self.message = message }
}

public enum StoppedView {
    public static func render(_ model: StoppedModel) -> HTML {
        Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="stopped-heading">
          <h1 id="stopped-heading">\(model.heading)</h1>
          <p>\(model.message)</p>
        </section>
        """)
    }
}

/// SPEC §3: an account already has the invited address.
public struct ExistingAccountModel: Sendable {
    public let chrome: PageChrome
    public let memberName: String
    public let practiceName: String
    /// Already signed in to the invited account: one button accepts.
    public let signedIn: Bool
    public init(chrome: PageChrome, memberName: String, practiceName: String, signedIn: Bool) {
        self.chrome = chrome; self.memberName = memberName; self.practiceName = practiceName; self.signedIn = signedIn
    }
}

public enum ExistingAccountView {
    public static func render(_ model: ExistingAccountModel) -> HTML {
        let action: HTML = model.signedIn ? """
          <p>You are signed in to that account. Accept the invitation to add the case to your account.</p>
          <form method="post" action="\(Paths.acceptInvitation)" class="form">
            \(Form.csrf(model.chrome.csrf))
            <div class="actions"><button type="submit" class="button button-primary">Accept</button></div>
          </form>
        """ : """
          <p>Sign In to accept the invitation. After you sign in, the case is added to your account.</p>
          <div class="actions">
            <a class="button button-primary" href="\(Paths.signIn())">Sign In</a>
          </div>
        """
        return Layout.page(model.chrome, """
        <section class="card card-narrow" aria-labelledby="existing-heading">
          <h1 id="existing-heading">You already have a CaseTalk account</h1>
          <p>\(model.memberName) at \(model.practiceName) invited you to CaseTalk, and an account with this email address already exists.</p>
          \(action)
        </section>
        """)
    }
}
