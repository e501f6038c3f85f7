import CaseTalkCore
import Foundation

/// The case header and tabs, shared by the Overview and Patient Talk tabs.
public struct CaseHeader: Sendable {
    public enum Tab: String, Sendable { case overview, talk, attachments }
    public let id: UUID
    public let patientName: String
    public let title: String
    public let tab: Tab
    public init(id: UUID, patientName: String, title: String, tab: Tab) {
        self.id = id; self.patientName = patientName; self.title = title; self.tab = tab
    }

    func render() -> HTML {
        let overview: HTML = tab == .overview ? "aria-current=\"page\" class=\"tab tab-current\"" : "class=\"tab\""
        let talk: HTML = tab == .talk ? "aria-current=\"page\" class=\"tab tab-current\"" : "class=\"tab\""
        let files: HTML = tab == .attachments ? "aria-current=\"page\" class=\"tab tab-current\"" : "class=\"tab\""
        return """
        <div class="case-head">
          <div>
            <h1>\(patientName)</h1>
            <p class="case-title">\(title)</p>
          </div>
          <a class="button button-primary" href="\(Paths.invite(id))">Invite Patient</a>
        </div>
        <nav class="tabs" aria-label="Case sections">
          <a href="\(Paths.caseOverview(id))" \(overview)>Overview</a>
          <a href="\(Paths.patientTalk(id))" \(talk)>Patient Talk</a>
          <a href="\(Paths.caseAttachments(id))" \(files)>Attachments</a>
        </nav>
        """
    }
}

/// View Cases (SPEC §2).
public struct CaseListModel: Sendable {
    public struct Item: Sendable {
        public let id: UUID; public let patientName: String; public let title: String; public let lastActivity: String
        public let unread: Int
        public init(id: UUID, patientName: String, title: String, lastActivity: String, unread: Int) {
            self.id = id; self.patientName = patientName; self.title = title; self.lastActivity = lastActivity; self.unread = unread
        }
    }
    public let chrome: PageChrome
    public let cases: [Item]
    public let previousPage: Int?
    public let nextPage: Int?
    public init(chrome: PageChrome, cases: [Item], previousPage: Int?, nextPage: Int?) {
        self.chrome = chrome; self.cases = cases; self.previousPage = previousPage; self.nextPage = nextPage
    }
}

public enum CaseListView {
    public static func render(_ model: CaseListModel) -> HTML {
        let list: HTML
        if model.cases.isEmpty {
            list = "<p class=\"empty\">You are not on any cases yet. Use <strong>New Case</strong> to start one.</p>"
        } else {
            let rows = HTML.each(model.cases) { item in
                let unread: HTML = item.unread > 0 ? "<span class=\"badge\">\(number: item.unread)</span>" : "<span class=\"muted\">0</span>"
                return """
                <tr>
                  <td data-label="Patient">\(item.patientName)</td>
                  <td data-label="Case">\(item.title)</td>
                  <td data-label="Last activity">\(item.lastActivity)</td>
                  <td data-label="Unread replies">\(unread)</td>
                  <td><a class="button button-small" href="\(Paths.caseOverview(item.id))" aria-label="View case of \(item.patientName)">View</a></td>
                </tr>
                """
            }
            list = """
            <table class="table case-list">
              <caption class="visually-hidden">Your cases, newest activity first</caption>
              <thead><tr><th scope="col">Patient</th><th scope="col">Case</th><th scope="col">Last activity</th><th scope="col">Unread replies</th><th scope="col"><span class="visually-hidden">Open</span></th></tr></thead>
              <tbody>\(rows)</tbody>
            </table>
            """
        }
        return Layout.page(model.chrome, """
        <div class="page-head">
          <h1>View Cases</h1>
          <a class="button button-primary" href="\(Paths.newCase)">New Case</a>
        </div>
        \(list)
        \(Pager.links(newer: model.previousPage.map { .cases(page: $0) }, older: model.nextPage.map { .cases(page: $0) },
                      newerLabel: "Newer cases", olderLabel: "Older cases"))
        """)
    }
}

/// New Case (SPEC §2).
public struct NewCaseModel: Sendable {
    public struct Values: Sendable {
        public var firstName = "", lastName = "", dateOfBirth = "", patientEmail = "", title = "", notes = ""
        public init() {}
        public init(firstName: String, lastName: String, dateOfBirth: String, patientEmail: String, title: String, notes: String) {
            self.firstName = firstName; self.lastName = lastName; self.dateOfBirth = dateOfBirth
            self.patientEmail = patientEmail; self.title = title; self.notes = notes
        }
    }
    public let chrome: PageChrome
    public let values: Values
    public let errors: [String: String]
    public let errorList: [String]
    public init(chrome: PageChrome, values: Values, errors: FieldErrors) {
        self.chrome = chrome; self.values = values; self.errors = errors.byField; self.errorList = errors.messages.map(\.message)
    }
}

public enum NewCaseView {
    public static func render(_ model: NewCaseModel) -> HTML {
        let values = model.values, errors = model.errors
        let optional: HTML = " <span class=\"optional\">(optional)</span>"
        return Layout.page(model.chrome, """
        <section class="card" aria-labelledby="new-case-heading">
          <h1 id="new-case-heading">New Case</h1>
          \(Form.summary(model.errorList, intro: "Please correct the following:"))
          <form method="post" action="\(Paths.cases())" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            <fieldset>
              <legend>Patient</legend>
              <div class="field-row">
                \(Form.field("first_name", label: "First name", value: values.firstName, error: errors["first_name"],
                             attributes: "maxlength=\"100\" required autocomplete=\"off\""))
                \(Form.field("last_name", label: "Last name", value: values.lastName, error: errors["last_name"],
                             attributes: "maxlength=\"100\" required autocomplete=\"off\""))
              </div>
              <div class="field-row">
                \(Form.field("date_of_birth", label: "Date of birth\(optional)", value: values.dateOfBirth, error: errors["date_of_birth"],
                             attributes: "type=\"date\""))
                \(Form.field("patient_email", label: "Patient email\(optional)", value: values.patientEmail, error: errors["patient_email"],
                             attributes: Form.emailAttributes))
              </div>
            </fieldset>
            <fieldset>
              <legend>Case</legend>
              \(Form.field("title", label: "Title", value: values.title, error: errors["title"], attributes: "maxlength=\"200\" required"))
              \(Form.field("notes", label: "Notes\(optional)", value: values.notes, error: errors["notes"], textarea: true,
                           attributes: "rows=\"5\" maxlength=\"5000\""))
            </fieldset>
            <div class="actions">
              <button type="submit" class="button button-primary">Create Case</button>
              <a class="button button-quiet" href="\(Paths.cases())">Cancel</a>
            </div>
          </form>
        </section>
        """)
    }
}

/// A doctor or staff member on a case, or found by **Add a Doctor/Staff**.
public struct CaseMemberModel: Sendable {
    public let id: UUID; public let name: String; public let role: String; public let practiceName: String
    public init(id: UUID, name: String, role: String, practiceName: String) {
        self.id = id; self.name = name; self.role = role; self.practiceName = practiceName
    }
}

/// A case's Overview tab (SPEC §2).
public struct CaseOverviewModel: Sendable {
    public let chrome: PageChrome
    public let header: CaseHeader
    public let practiceName: String
    public let dateOfBirth: String?
    public let patientEmail: String?
    public let notes: String?
    public let createdAt: String
    public let members: [CaseMemberModel]
    public let search: String
    public let searched: Bool
    public let results: [CaseMemberModel]
    public let searchError: String?
    /// The viewer: their row offers **Leave this case**.
    public let viewerID: UUID?
    /// An admin of the case's own practice: the other rows offer **Remove from case**.
    public let canRemoveOthers: Bool
    public init(chrome: PageChrome, header: CaseHeader, practiceName: String, dateOfBirth: String?, patientEmail: String?,
                notes: String?, createdAt: String, members: [CaseMemberModel], search: String, searched: Bool,
                results: [CaseMemberModel], searchError: String?, viewerID: UUID? = nil, canRemoveOthers: Bool = false) {
        self.chrome = chrome; self.header = header; self.practiceName = practiceName; self.dateOfBirth = dateOfBirth
        self.patientEmail = patientEmail; self.notes = notes; self.createdAt = createdAt; self.members = members
        self.search = search; self.searched = searched; self.results = results; self.searchError = searchError
        self.viewerID = viewerID; self.canRemoveOthers = canRemoveOthers
    }
}

public enum CaseOverviewView {
    public static func render(_ model: CaseOverviewModel) -> HTML {
        let id = model.header.id
        func person(_ member: CaseMemberModel) -> HTML {
            "<span class=\"person-name\">\(member.name)</span> <span class=\"badge\">\(member.role)</span><br><span class=\"muted\">\(member.practiceName)</span>"
        }
        var results = HTML()
        if model.searched {
            results = model.results.isEmpty ? "<p class=\"muted\" role=\"status\">No one found who is not already on this case.</p>" : """
            <ul class="people results" aria-label="Search results">
              \(HTML.each(model.results) { found in """
              <li>
                <div>\(person(found))</div>
                <form method="post" action="\(Paths.caseMembers(id))" class="inline-form">
                  \(Form.csrf(model.chrome.csrf))
                  \(Form.hidden("staff_id", found.id.uuidString))
                  <button type="submit" class="button button-small" aria-label="Add \(found.name)">+ Add</button>
                </form>
              </li>
              """ })
            </ul>
            """
        }
        let searchInvalid: HTML = model.searchError == nil ? HTML() : " aria-invalid=\"true\" aria-describedby=\"q-error\""
        let searchError: HTML = model.searchError.map { "<p class=\"field-error\" id=\"q-error\">\($0)</p>" } ?? HTML()
        return Layout.page(model.chrome, """
        \(model.header.render())
        <div class="grid-two">
          <section class="card" aria-labelledby="details-heading">
            <h2 id="details-heading">Case details</h2>
            <dl class="details">
              <dt>Patient</dt><dd>\(model.header.patientName)</dd>
              <dt>Date of birth</dt><dd>\(model.dateOfBirth ?? "Not given")</dd>
              <dt>Patient email</dt><dd>\(model.patientEmail ?? "Not given")</dd>
              <dt>Practice</dt><dd>\(model.practiceName)</dd>
              <dt>Opened</dt><dd>\(model.createdAt)</dd>
              <dt>Notes</dt><dd class="notes">\(model.notes ?? "None")</dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="members-heading">
            <h2 id="members-heading">Associated Doctors &amp; Staff</h2>
            <ul class="people">
              \(HTML.each(model.members) { member in
                var action = HTML()
                if member.id == model.viewerID {
                    action = "<a class=\"button button-small button-quiet\" href=\"\(Paths.removeMember(id, staff: member.id))\">Leave this case</a>"
                } else if model.canRemoveOthers {
                    action = "<a class=\"button button-small button-quiet\" href=\"\(Paths.removeMember(id, staff: member.id))\" aria-label=\"Remove \(member.name) from case\">Remove from case</a>"
                }
                return "<li><div>\(person(member))</div>\(action)</li>"
              })
            </ul>
            <h3 id="add-heading">Add a Doctor/Staff</h3>
            <form method="get" action="\(Paths.caseOverview(id))" class="search-form" role="search" aria-labelledby="add-heading">
              <label for="q">Name or practice</label>
              <div class="search-row">
                <input id="q" name="q" type="search" value="\(model.search)" maxlength="100" required\(searchInvalid)>
                <button type="submit" class="button">Search</button>
              </div>
              \(searchError)
            </form>
            \(results)
          </section>
        </div>
        """)
    }
}

/// What every member sees of the invitation (SPEC §3): the address masked, who sent or changed it
/// and when, which account answered; and what this member may do with it.
public struct InvitationModel: Sendable {
    public struct Event: Sendable {
        public let label: String; public let date: String
        public init(label: String, date: String) { self.label = label; self.date = date }
    }
    /// Masked, as in `j•••@patient.test`.
    public let email: String
    public let state: String
    /// The link ended by a revocation: the member may invite again.
    public let isRevoked: Bool
    /// "Dr. Maya Chen (Riverside Dental Care)": whoever last sent or changed it.
    public let sentBy: String
    public let events: [Event]
    public let delivery: String?
    public let deliveryProblem: Bool
    public let canResend: Bool
    public let canRevoke: Bool
    /// Only the owning practice may send to another address; others are told why.
    public let canChangeAddress: Bool
    public let controlNote: String?
    /// "Registered as j•••@patient.test, phone ••44, on {date}".
    public let registeredAs: String?
    public let canRemoveAccess: Bool

    public init(email: String, state: String, isRevoked: Bool, sentBy: String, events: [Event], delivery: String?,
                deliveryProblem: Bool, canResend: Bool, canRevoke: Bool, canChangeAddress: Bool, controlNote: String?,
                registeredAs: String?, canRemoveAccess: Bool) {
        self.email = email; self.state = state; self.isRevoked = isRevoked; self.sentBy = sentBy; self.events = events
        self.delivery = delivery; self.deliveryProblem = deliveryProblem; self.canResend = canResend; self.canRevoke = canRevoke
        self.canChangeAddress = canChangeAddress; self.controlNote = controlNote; self.registeredAs = registeredAs
        self.canRemoveAccess = canRemoveAccess
    }
}

/// The invitation form's values.
public struct InviteValues: Sendable {
    public var email = "", confirmEmail = ""
    public init(email: String = "", confirmEmail: String = "") { self.email = email; self.confirmEmail = confirmEmail }
}

enum InviteFields {
    static func render(_ values: InviteValues, _ errors: [String: String]) -> HTML {
        """
        \(Form.field("email", label: "Email Address", value: values.email, error: errors["email"], attributes: Form.emailAttributes))
        \(Form.field("confirm_email", label: "Confirm Email Address", value: values.confirmEmail, error: errors["confirm_email"],
                     attributes: Form.emailAttributes))
        """
    }
}

/// A member's Patient Talk (SPEC §4): their private thread with the patient and the invitation.
public struct PatientTalkModel: Sendable {
    public let chrome: PageChrome
    public let header: CaseHeader
    public let invitation: InvitationModel?
    public let values: InviteValues
    public let errors: [String: String]
    /// The member's own thread with the patient, oldest first.
    public let thread: ThreadModel
    /// A new key for each rendered send form (see `Conversations.send`).
    public let sendKey: String
    public let draft: String
    public let messageError: String?
    /// Why files were refused, one line each.
    public let fileErrors: [String]
    public init(chrome: PageChrome, header: CaseHeader, invitation: InvitationModel?, values: InviteValues, errors: [String: String],
                thread: ThreadModel, sendKey: String, draft: String, messageError: String?, fileErrors: [String] = []) {
        self.chrome = chrome; self.header = header; self.invitation = invitation; self.values = values; self.errors = errors
        self.thread = thread; self.sendKey = sendKey; self.draft = draft; self.messageError = messageError; self.fileErrors = fileErrors
    }
}

public enum PatientTalkView {
    public static func render(_ model: PatientTalkModel) -> HTML {
        let id = model.header.id
        let csrf = model.chrome.csrf
        let hint: HTML = "<p class=\"hint\">Messages written before the patient registers wait for them. The patient is told by email that a message is waiting, never what it says.</p>"
        let invitation: HTML
        if let inv = model.invitation {
            let registered: HTML = inv.registeredAs.map { "<p class=\"registered-as\">\($0)</p>" } ?? HTML()
            let delivery: HTML = inv.delivery.map { text in
                let style: HTML = inv.deliveryProblem ? "delivery-problem" : "muted"
                return "<p class=\"\(style)\" role=\"status\">\(text)</p>"
            } ?? HTML()
            let remove: HTML = HTML.when(inv.canRemoveAccess, """
            <form method="post" action="\(Paths.removePatientAccess(id))" class="inline-form">
              \(Form.csrf(csrf))
              <p class="hint" id="remove-hint">The account loses this case and its conversations at once. You can then send a new invitation.</p>
              <button type="submit" class="button button-quiet" aria-describedby="remove-hint">Remove patient access</button>
            </form>
            """)
            var controls: HTML
            if inv.canResend {
                let revoke: HTML = HTML.when(inv.canRevoke, """
                <form method="post" action="\(Paths.revokeInvitation(id))" class="inline-form">
                  \(Form.csrf(csrf))
                  <button type="submit" class="button button-quiet">Revoke</button>
                </form>
                """)
                let address: HTML = inv.canChangeAddress ? """
                <form method="post" action="\(Paths.invite(id))" class="form corrected" novalidate aria-labelledby="corrected-heading">
                  <h4 id="corrected-heading">Send to a corrected address</h4>
                  \(Form.csrf(csrf))
                  \(Form.hidden("from", "talk"))
                  <div class="field-row">\(InviteFields.render(model.values, model.errors))</div>
                  <button type="submit" class="button button-primary">Send</button>
                </form>
                """ : "<p class=\"muted\">\(inv.controlNote ?? "")</p>"
                controls = """
                <section class="reinvite" aria-labelledby="reinvite-heading">
                  <h3 id="reinvite-heading">Re-Invite Patient</h3>
                  <div class="actions">
                    <form method="post" action="\(Paths.resendInvitation(id))" class="inline-form">
                      \(Form.csrf(csrf))
                      <button type="submit" class="button">Resend to the same address</button>
                    </form>
                    \(revoke)
                  </div>
                  \(address)
                </section>
                """
            } else {
                controls = HTML.when(inv.isRevoked, "<p><a href=\"\(Paths.invite(id))\">Invite the patient again</a></p>")
            }
            invitation = """
            <div class="invitation" aria-labelledby="invitation-heading">
              <h3 id="invitation-heading">Invitation: <span class="status">\(inv.state)</span></h3>
              <p>Sent to <strong>\(inv.email)</strong> by \(inv.sentBy)</p>
              \(registered)
              <dl class="details">
                \(HTML.each(inv.events) { "<dt>\($0.label)</dt><dd>\($0.date)</dd>" })
              </dl>
              \(delivery)
              \(remove)
            </div>
            \(controls)
            """
        } else {
            invitation = "<p><a href=\"\(Paths.invite(id))\">click here to invite your patient by email</a></p>"
        }
        return Layout.page(model.chrome, """
        \(model.header.render())
        <section class="card" aria-labelledby="talk-heading">
          <h2 id="talk-heading">Patient Talk</h2>
          <p>Your private conversation with \(model.header.patientName). Only you and the patient can see it.</p>
          \(ThreadView.render(model.thread) { .patientTalk(id, page: $0) })
          \(ThreadView.replyForm(action: .patientTalkUpload(id), filesAhead: .patientTalkFiles(id), csrf: csrf, sendKey: model.sendKey,
                                 label: "Message to \(model.header.patientName)", draft: model.draft, error: model.messageError,
                                 fileErrors: model.fileErrors, hint: hint))
          \(invitation)
        </section>
        """)
    }
}

/// Invite Patient (SPEC §3).
public struct InviteModel: Sendable {
    public let chrome: PageChrome
    public let header: CaseHeader
    public let current: InvitationModel?
    public let values: InviteValues
    public let errors: [String: String]
    public let errorList: [String]
    public init(chrome: PageChrome, header: CaseHeader, current: InvitationModel?, values: InviteValues, errors: FieldErrors) {
        self.chrome = chrome; self.header = header; self.current = current; self.values = values
        self.errors = errors.byField; self.errorList = errors.messages.map(\.message)
    }
}

public enum InviteView {
    public static func render(_ model: InviteModel) -> HTML {
        let id = model.header.id
        let note: HTML = model.current?.controlNote.map { "<p class=\"muted\">\($0)</p>" } ?? HTML()
        let replaces: HTML = model.current.map { current in
            HTML.when(current.canRevoke, "<p class=\"muted\">An invitation to \(current.email) is already out. Sending replaces it: the earlier link stops working.</p>")
        } ?? HTML()
        return Layout.page(model.chrome, """
        \(model.header.render())
        <section class="card card-narrow" aria-labelledby="invite-heading">
          <h2 id="invite-heading">Invite Patient</h2>
          <p>The patient gets an email with a link to register. It names you and your practice, and nothing about the case.</p>
          \(note)
          \(replaces)
          \(Form.summary(model.errorList))
          <form method="post" action="\(Paths.invite(id))" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(InviteFields.render(model.values, model.errors))
            <div class="actions">
              <button type="submit" class="button button-primary">Send</button>
              <a class="button button-quiet" href="\(Paths.patientTalk(id))">Cancel</a>
            </div>
          </form>
        </section>
        """)
    }
}

/// **Leave this case** / **Remove from case** (SPEC §9): the member loses the case at once; their
/// open Patient Talk on it is handed to a colleague of their practice or closed first.
public struct LeaveCaseModel: Sendable {
    public struct Taker: Sendable {
        public let id: UUID; public let name: String
        public init(id: UUID, name: String) { self.id = id; self.name = name }
    }
    public let chrome: PageChrome
    public let header: CaseHeader
    public let memberID: UUID
    public let memberName: String
    /// The viewer leaves (else an admin removes `memberName`).
    public let isSelf: Bool
    /// Their open Patient Talk here, if any: who may take it, and the choice so far.
    public let takers: [Taker]?
    public let choice: String
    public let error: String?
    public init(chrome: PageChrome, header: CaseHeader, memberID: UUID, memberName: String, isSelf: Bool, takers: [Taker]?,
                choice: String, error: String?) {
        self.chrome = chrome; self.header = header; self.memberID = memberID; self.memberName = memberName; self.isSelf = isSelf
        self.takers = takers; self.choice = choice; self.error = error
    }
}

public enum LeaveCaseView {
    public static func render(_ model: LeaveCaseModel) -> HTML {
        let heading: HTML = model.isSelf ? "Leave this case" : "Remove \(model.memberName) from case"
        let who: HTML = model.isSelf ? "You lose this case at once: it leaves your View Cases." : "\(model.memberName) loses this case at once."
        var talk = HTML()
        if let takers = model.takers {
            let invalid: HTML = model.error == nil ? HTML() : " aria-invalid=\"true\" aria-describedby=\"leave-error\""
            talk = """
              <p>\(model.isSelf ? "Your" : "Their") Patient Talk with the patient goes to a colleague, who then alone reads it with the patient, or closes: the patient can still read a closed one and is told whom to contact.</p>
              <div class="field">
                <label for="talk">Hand over or Close</label>
                <select id="talk" name="talk"\(invalid)>
                  \(DepartureView.option("", "Choose\u{2026}", model.choice))
                  \(HTML.each(takers) { DepartureView.option($0.id.uuidString, "Hand over to \($0.name)", model.choice) })
                  \(DepartureView.option("close", "Close", model.choice))
                </select>
              </div>
              """
        }
        let error: HTML = model.error.map { "<p class=\"error-summary\" id=\"leave-error\" role=\"alert\">\($0)</p>" } ?? HTML()
        return Layout.page(model.chrome, """
        \(model.header.render())
        <section class="card card-narrow" aria-labelledby="leave-heading">
          <h2 id="leave-heading">\(heading)</h2>
          \(error)
          <p>\(who)</p>
          <form method="post" action="\(Paths.removeMember(model.header.id, staff: model.memberID))" class="form" novalidate>
            \(Form.csrf(model.chrome.csrf))
            \(talk)
            <div class="actions"><button type="submit" class="button button-danger">\(model.isSelf ? "Leave this case" : "Remove from case")</button>
            <a class="button" href="\(Paths.caseOverview(model.header.id))">Cancel</a></div>
          </form>
        </section>
        """)
    }
}
