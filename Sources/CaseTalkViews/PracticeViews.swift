import CaseTalkCore
import Foundation

/// **Practice** (SPEC §9): the practice's staff as its admins see them.
public struct PracticeModel: Sendable {
    public struct Member: Sendable {
        public let id: UUID; public let name: String; public let email: String; public let role: String; public let isAdmin: Bool
        public let status: String; public let twoStep: String; public let lastSignIn: String
        /// Locked now: the row offers **Unlock**.
        public let locked: Bool
        public init(id: UUID, name: String, email: String, role: String, isAdmin: Bool, status: String, twoStep: String, lastSignIn: String,
                    locked: Bool) {
            self.id = id; self.name = name; self.email = email; self.role = role; self.isAdmin = isAdmin
            self.status = status; self.twoStep = twoStep; self.lastSignIn = lastSignIn; self.locked = locked
        }
    }
    public let chrome: PageChrome
    public let practiceName: String
    public let staff: [Member]
    public init(chrome: PageChrome, practiceName: String, staff: [Member]) {
        self.chrome = chrome; self.practiceName = practiceName; self.staff = staff
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
            return """
            <tr>
              <td data-label="Name"><span class="person-name">\(member.name)</span> \(admin)<br><span class="muted">\(member.email)</span></td>
              <td data-label="Role">\(member.role)</td>
              <td data-label="Status"><span class="staff-status">\(member.status)</span>\(unlock)</td>
              <td data-label="Two-step verification">\(member.twoStep)</td>
              <td data-label="Last sign-in">\(member.lastSignIn)</td>
            </tr>
            """
        }
        return Layout.page(model.chrome, """
        <div class="page-head">
          <h1>Practice</h1>
        </div>
        <p class="muted">\(model.practiceName)</p>
        <table class="table staff-list">
          <caption class="visually-hidden">The practice's staff, by name</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Two-step verification</th><th scope="col">Last sign-in</th></tr></thead>
          <tbody>\(rows)</tbody>
        </table>
        """)
    }
}
