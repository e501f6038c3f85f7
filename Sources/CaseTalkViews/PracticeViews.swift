import CaseTalkCore
import Foundation

/// **Practice** (SPEC §9): the practice's staff as its admins see them.
public struct PracticeModel: Sendable {
    public struct Member: Sendable {
        public let id: UUID; public let name: String; public let email: String; public let role: String; public let isAdmin: Bool
        public let status: String; public let twoStep: String; public let lastSignIn: String
        /// Locked now: the row offers **Unlock**.
        public let locked: Bool
        /// Deactivated: the row offers **Reactivate** instead of **Deactivate**.
        public let deactivated: Bool
        /// Their Patient Talks still waiting for a decision (deactivated members only).
        public let undecidedTalks: Int
        /// Two-step verification is on and may be reset (another active member).
        public let canResetTwoStep: Bool
        public init(id: UUID, name: String, email: String, role: String, isAdmin: Bool, status: String, twoStep: String, lastSignIn: String,
                    locked: Bool, deactivated: Bool = false, undecidedTalks: Int = 0, canResetTwoStep: Bool = false) {
            self.id = id; self.name = name; self.email = email; self.role = role; self.isAdmin = isAdmin
            self.status = status; self.twoStep = twoStep; self.lastSignIn = lastSignIn; self.locked = locked
            self.deactivated = deactivated; self.undecidedTalks = undecidedTalks; self.canResetTwoStep = canResetTwoStep
        }
    }
    /// A pending staff invitation: **Resend** (to the address as it is or as corrected) or **Cancel invitation**.
    public struct Invitation: Sendable {
        public let id: UUID; public let name: String; public let email: String; public let role: String; public let isAdmin: Bool
        /// "Invited", or "Invitation expired" once its link is more than 72 hours old.
        public let status: String
        public init(id: UUID, name: String, email: String, role: String, isAdmin: Bool, status: String) {
            self.id = id; self.name = name; self.email = email; self.role = role; self.isAdmin = isAdmin; self.status = status
        }
    }
    /// What the **Invite Staff** form shows again after a problem.
    public struct InviteValues: Sendable {
        public let email: String; public let name: String; public let role: StaffRole; public let isAdmin: Bool
        public init(email: String = "", name: String = "", role: StaffRole = .staff, isAdmin: Bool = false) {
            self.email = email; self.name = name; self.role = role; self.isAdmin = isAdmin
        }
    }
    public let chrome: PageChrome
    public let practiceName: String
    public let staff: [Member]
    public let invitations: [Invitation]
    public let invite: InviteValues
    public let inviteErrors: [String: String]
    /// A problem with an action on the list (a corrected address that is not one).
    public let error: String?
    /// **Practice settings**, as stored or as the form last sent them.
    public struct Settings: Sendable {
        public let name: String; public let timeZone: String; public let errors: [String: String]
        public init(name: String, timeZone: String, errors: [String: String]) { self.name = name; self.timeZone = timeZone; self.errors = errors }
    }
    public let settings: Settings?
    public init(chrome: PageChrome, practiceName: String, staff: [Member], invitations: [Invitation] = [], invite: InviteValues = .init(),
                inviteErrors: [String: String] = [:], error: String? = nil, settings: Settings? = nil) {
        self.chrome = chrome; self.practiceName = practiceName; self.staff = staff
        self.invitations = invitations; self.invite = invite; self.inviteErrors = inviteErrors; self.error = error
        self.settings = settings
    }
}

public enum PracticeView {
    public static func render(_ model: PracticeModel) -> HTML {
        let rows = HTML.each(model.staff) { member in
            let admin: HTML = member.isAdmin ? "<span class=\"badge\">Practice admin</span>" : HTML()
            let unlock: HTML = member.locked ? """
              <form method="post" action="\(Paths.unlockStaff(member.id))" class="inline-form">
                \(Form.csrf(model.chrome.csrf))
                <button type="submit" class="button button-small" aria-label="Unlock \(member.name)">Unlock</button>
              </form>
              """ : HTML()
            let resetTwoStep: HTML = member.canResetTwoStep ? """
              <form method="post" action="\(Paths.resetTwoStep(member.id))" class="inline-form">
                \(Form.csrf(model.chrome.csrf))
                <button type="submit" class="button button-small button-quiet" aria-label="Reset two-step verification of \(member.name)">Reset</button>
              </form>
              """ : HTML()
            var actions: HTML = "<a class=\"button button-small\" href=\"\(Paths.editStaff(member.id))\" aria-label=\"Edit \(member.name)\">Edit</a>"
            if member.deactivated {
                let decide: HTML = member.undecidedTalks > 0 ? """
                  <a class="button button-small" href="\(Paths.departure(member.id))" aria-label="Decide on the Patient Talks of \(member.name)">\
                  Decide on \(member.undecidedTalks == 1 ? "1 Patient Talk" : "\(member.undecidedTalks) Patient Talks")</a>
                  """ : HTML()
                actions.append("""
                  \(decide)
                  <form method="post" action="\(Paths.reactivateStaff(member.id))" class="inline-form">
                    \(Form.csrf(model.chrome.csrf))
                    <button type="submit" class="button button-small" aria-label="Reactivate \(member.name)">Reactivate</button>
                  </form>
                  """)
            } else {
                actions.append("<a class=\"button button-small\" href=\"\(Paths.departure(member.id))\" aria-label=\"Deactivate \(member.name)\">Deactivate</a>")
            }
            return """
            <tr>
              <td data-label="Name"><span class="person-name">\(member.name)</span> \(admin)<br><span class="muted">\(member.email)</span></td>
              <td data-label="Role">\(member.role)</td>
              <td data-label="Status"><span class="staff-status">\(member.status)</span>\(unlock)</td>
              <td data-label="Two-step verification">\(member.twoStep)\(resetTwoStep)</td>
              <td data-label="Last sign-in">\(member.lastSignIn)</td>
              <td data-label="Actions" class="row-actions">\(actions)</td>
            </tr>
            """
        }
        let invited = HTML.each(model.invitations) { invitation in
            let admin: HTML = invitation.isAdmin ? "<span class=\"badge\">Practice admin</span>" : HTML()
            let field = "email-\(invitation.id.uuidString)"
            return """
            <tr>
              <td data-label="Name"><span class="person-name">\(invitation.name)</span> \(admin)<br><span class="muted">\(invitation.email)</span></td>
              <td data-label="Role">\(invitation.role)</td>
              <td data-label="Status"><span class="staff-status">\(invitation.status)</span></td>
              <td data-label="Two-step verification">Not set up</td>
              <td data-label="Last sign-in">Never</td>
              <td data-label="Actions" class="invitation-actions">
                <form method="post" action="\(Paths.resendStaffInvitation(invitation.id))" class="resend-form" novalidate>
                  \(Form.csrf(model.chrome.csrf))
                  <label for="\(field)">Email Address for \(invitation.name)</label>
                  <input id="\(field)" name="email" type="text" inputmode="email" autocapitalize="none" spellcheck="false" value="\(invitation.email)" autocomplete="off" maxlength="254">
                  <button type="submit" class="button button-small" aria-label="Resend the invitation of \(invitation.name)">Resend</button>
                </form>
                <form method="post" action="\(Paths.cancelStaffInvitation(invitation.id))" class="inline-form">
                  \(Form.csrf(model.chrome.csrf))
                  <button type="submit" class="button button-small button-quiet" aria-label="Cancel the invitation of \(invitation.name)">Cancel invitation</button>
                </form>
              </td>
            </tr>
            """
        }
        let values = model.invite, errors = model.inviteErrors
        let roles = HTML.each(StaffRole.allCases) { role in
            "<option value=\"\(role.rawValue)\"\(role == values.role ? " selected" : "")>\(role.label)</option>"
        }
        let roleError: HTML = errors["role"].map { "<p class=\"field-error\" id=\"role-error\">\($0)</p>" } ?? HTML()
        let roleInvalid: HTML = errors["role"] == nil ? HTML() : " aria-invalid=\"true\" aria-describedby=\"role-error\""
        return Layout.page(model.chrome, """
        <div class="page-head">
          <h1>Practice</h1>
        </div>
        \(Form.alert(model.error))
        <p class="muted">\(model.practiceName)</p>
        <table class="table staff-list">
          <caption class="visually-hidden">The practice's staff, by name</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Two-step verification</th><th scope="col">Last sign-in</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>\(rows)\(invited)</tbody>
        </table>
        <section class="card" aria-labelledby="invite-heading">
          <h2 id="invite-heading">Invite Staff</h2>
          <p class="muted">They get an email with a link (72 hours, once) to set a password and two-step verification.</p>
          \(Form.summary(errors.isEmpty ? [] : ["Nobody was invited: see the fields marked below."]))
          <form method="post" action="\(Paths.inviteStaff)" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.field("email", label: "Email Address", value: values.email, error: errors["email"], attributes: Form.emailAttributes))
            \(Form.field("name", label: "Name", value: values.name, error: errors["name"], attributes: "type=\"text\" autocomplete=\"off\" maxlength=\"100\""))
            <div class="field">
              <label for="role">Role</label>
              \(roleError)
              <select id="role" name="role"\(roleInvalid)>\(roles)</select>
            </div>
            <div class="choice">
              <input type="checkbox" id="admin" name="admin" value="1"\(values.isAdmin ? " checked" : "")>
              <label for="admin">Practice admin</label>
            </div>
            <div class="actions"><button type="submit" class="button button-primary">Invite Staff</button></div>
          </form>
        </section>
        \(settingsForm(model))
        """)
    }

    /// **Practice settings**: Name and Time zone (every IANA zone the system lists).
    static func settingsForm(_ model: PracticeModel) -> HTML {
        guard let settings = model.settings else { return HTML() }
        let zones = HTML.each(ShownZone.all) { DepartureView.option($0, $0, settings.timeZone) }
        let zoneError: HTML = settings.errors["time_zone"].map { "<p class=\"field-error\" id=\"time_zone-error\">\($0)</p>" } ?? HTML()
        let zoneInvalid: HTML = settings.errors["time_zone"] == nil
            ? " aria-describedby=\"time_zone-hint\"" : " aria-invalid=\"true\" aria-describedby=\"time_zone-hint time_zone-error\""
        return """
        <section class="card" aria-labelledby="settings-heading">
          <h2 id="settings-heading">Practice settings</h2>
          \(Form.summary(settings.errors.isEmpty ? [] : ["Nothing was saved: see the fields marked below."]))
          <form method="post" action="\(Paths.practiceSettings)" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(Form.field("practice_name", label: "Name", value: settings.name, error: settings.errors["practice_name"],
                         attributes: "type=\"text\" autocomplete=\"organization\" maxlength=\"200\""))
            <div class="field">
              <label for="time_zone">Time zone</label>
              <p class="hint" id="time_zone-hint">Every date of the practice is shown in it, for its staff and its patients.</p>
              \(zoneError)
              <select id="time_zone" name="time_zone"\(zoneInvalid)>\(zones)</select>
            </div>
            <div class="actions"><button type="submit" class="button button-primary">Save settings</button></div>
          </form>
        </section>
        """
    }
}

/// **Deactivate** (SPEC §9): the departing member's open Patient Talks, each to **Hand over** to a
/// colleague or **Close** (or left for later), with **Hand over all**; the same page decides on
/// them after the deactivation. It names each talk's case and patient, never its messages.
public struct DepartureModel: Sendable {
    public struct Taker: Sendable {
        public let id: UUID; public let name: String
        public init(id: UUID, name: String) { self.id = id; self.name = name }
    }
    public struct Talk: Sendable {
        public let id: UUID; public let caseTitle: String; public let patientName: String; public let lastActivity: String
        public let takers: [Taker]
        /// "later", "close" or a taker's id, as the form last said.
        public let choice: String
        public let error: String?
        public init(id: UUID, caseTitle: String, patientName: String, lastActivity: String, takers: [Taker], choice: String, error: String?) {
            self.id = id; self.caseTitle = caseTitle; self.patientName = patientName; self.lastActivity = lastActivity
            self.takers = takers; self.choice = choice; self.error = error
        }
    }
    public let chrome: PageChrome
    public let memberID: UUID
    public let memberName: String
    /// Already deactivated: the page only decides on the talks.
    public let deactivated: Bool
    public let talks: [Talk]
    /// The colleagues **Hand over all** offers, and its choice ("" for none).
    public let allTakers: [Taker]
    public let allChoice: String
    public let error: String?
    public init(chrome: PageChrome, memberID: UUID, memberName: String, deactivated: Bool, talks: [Talk], allTakers: [Taker],
                allChoice: String, error: String?) {
        self.chrome = chrome; self.memberID = memberID; self.memberName = memberName; self.deactivated = deactivated
        self.talks = talks; self.allTakers = allTakers; self.allChoice = allChoice; self.error = error
    }
}

public enum DepartureView {
    public static func render(_ model: DepartureModel) -> HTML {
        let intro: HTML = model.deactivated
            ? "<p>\(model.memberName) is deactivated. Decide who continues each Patient Talk below; any left undecided close themselves 7 days after the deactivation.</p>"
            : """
              <p>\(model.memberName) will be signed out everywhere at once and can no longer sign in. Nothing they did is deleted; \
              they show as \u{201C}\(model.memberName) (inactive)\u{201D}.</p>
              """
        var talks = HTML()
        if model.talks.isEmpty {
            talks = model.deactivated ? "<p class=\"muted\">No Patient Talk waits for a decision.</p>" : "<p class=\"muted\">\(model.memberName) has no open Patient Talk.</p>"
        } else {
            var items = HTML()
            for talk in model.talks {
                let field = "talk-\(talk.id.uuidString)"
                let error: HTML = talk.error.map { "<p class=\"field-error\" id=\"\(field)-error\">\($0)</p>" } ?? HTML()
                let described: HTML = talk.error == nil ? " aria-describedby=\"\(field)-about\"" : " aria-describedby=\"\(field)-about \(field)-error\" aria-invalid=\"true\""
                items.append("""
                  <li class="departure-talk">
                    <p id="\(field)-about"><strong>\(talk.patientName)</strong> · \(talk.caseTitle) · <span class="muted">last activity \(talk.lastActivity)</span></p>
                    <div class="field">
                      <label for="\(field)">Hand over or Close</label>
                      \(error)
                      <select id="\(field)" name="\(field)"\(described)>
                        \(option("later", "Decide later", talk.choice))
                        \(HTML.each(talk.takers) { option($0.id.uuidString, "Hand over to \($0.name)", talk.choice) })
                        \(option("close", "Close", talk.choice))
                      </select>
                    </div>
                  </li>
                """)
            }
            talks = """
              <h2>Patient Talks</h2>
              <p>Each goes to a colleague, who then alone reads it with the patient (they join the case if needed), or closes: \
              the patient can still read a closed one and is told whom to contact.</p>
              <div class="field">
                <label for="all">Hand over all</label>
                <select id="all" name="all" aria-describedby="all-hint">
                  \(option("", "No one: decide each below", model.allChoice))
                  \(HTML.each(model.allTakers) { option($0.id.uuidString, "Hand over all to \($0.name)", model.allChoice) })
                </select>
                <p class="hint" id="all-hint">Applies to each talk left at \u{201C}Decide later\u{201D}.</p>
              </div>
              <ol class="departure-talks">\(items)</ol>
              """
        }
        let button: HTML = model.deactivated ? "Save decisions" : "Deactivate \(model.memberName)"
        return Layout.page(model.chrome, """
        <p><a href="\(Paths.practice())">Practice</a></p>
        <div class="page-head"><h1>\(model.deactivated ? "Patient Talks of \(model.memberName)" : "Deactivate \(model.memberName)")</h1></div>
        \(Form.alert(model.error))
        \(intro)
        <form method="post" action="\(Paths.departure(model.memberID))" class="form" novalidate>
          \(Form.csrf(model.chrome.csrf))
          \(talks)
          <div class="actions"><button type="submit" class="button \(model.deactivated ? "button-primary" : "button-danger")">\(button)</button>
          <a class="button" href="\(Paths.practice())">Cancel</a></div>
        </form>
        """)
    }

    /// One `<option>`, selected when it is `chosen`.
    public static func option(_ value: String, _ label: String, _ chosen: String) -> HTML {
        "<option value=\"\(value)\"\(value == chosen ? " selected" : "")>\(label)</option>"
    }
}

/// **Edit** (SPEC §9): a staff member's name, role and admin mark.
public struct EditStaffModel: Sendable {
    public let chrome: PageChrome
    public let memberID: UUID
    /// As stored, for the heading.
    public let memberName: String
    public let name: String
    public let role: StaffRole
    public let isAdmin: Bool
    public let errors: [String: String]
    public let error: String?
    public init(chrome: PageChrome, memberID: UUID, memberName: String, name: String, role: StaffRole, isAdmin: Bool,
                errors: [String: String], error: String?) {
        self.chrome = chrome; self.memberID = memberID; self.memberName = memberName; self.name = name; self.role = role
        self.isAdmin = isAdmin; self.errors = errors; self.error = error
    }
}

public enum EditStaffView {
    public static func render(_ model: EditStaffModel) -> HTML {
        let roles = HTML.each(StaffRole.allCases) { role in
            "<option value=\"\(role.rawValue)\"\(role == model.role ? " selected" : "")>\(role.label)</option>"
        }
        return Layout.page(model.chrome, """
        <p><a href="\(Paths.practice())">Practice</a></p>
        <div class="page-head"><h1>Edit \(model.memberName)</h1></div>
        \(Form.alert(model.error))
        <form method="post" action="\(Paths.editStaff(model.memberID))" class="form" novalidate>
          \(Form.csrf(model.chrome.csrf))
          \(Form.field("name", label: "Name", value: model.name, error: model.errors["name"], attributes: "type=\"text\" autocomplete=\"off\" maxlength=\"100\" required"))
          <div class="field">
            <label for="role">Role</label>
            <select id="role" name="role">\(roles)</select>
          </div>
          <div class="choice">
            <input type="checkbox" id="admin" name="admin" value="1"\(model.isAdmin ? " checked" : "")>
            <label for="admin">Practice admin</label>
          </div>
          <div class="actions"><button type="submit" class="button button-primary">Save</button>
          <a class="button" href="\(Paths.practice())">Cancel</a></div>
        </form>
        """)
    }
}
