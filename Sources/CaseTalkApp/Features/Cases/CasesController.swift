import CaseTalkCore
import CaseTalkViews
import Fluent
import Vapor

/// View Cases, New Case, and the case page's Overview tab (SPEC §2).
/// Every case lookup is `req.memberCase()`: non-members get 404.
struct CasesController: RouteCollection {
    static let pageSize = 25
    /// **Add a Doctor/Staff** searches by at least this many characters.
    static let searchMinimum = 3
    static let searchTooShort = "Type at least 3 letters of a name or practice to search."

    func boot(routes: any RoutesBuilder) throws {
        let cases = routes.grouped("cases")
        cases.get(use: index)
        cases.get("new", use: newCase)
        cases.post(use: create)
        cases.get(":caseID", use: overview)
        cases.post(":caseID", "members", use: addMember)
    }

    // MARK: View Cases

    func index(req: Request) async throws -> Response {
        let staff = try req.requireStaff()
        let page = max(1, min(req.query[Int.self, at: "page"] ?? 1, 10_000))
        // One more than a page: whether there is a next one.
        let rows = try await CasesTable.casesOf(member: staff.id, limit: Self.pageSize + 1, offset: (page - 1) * Self.pageSize, on: req.db)
        let items = rows.prefix(Self.pageSize).map {
            CaseListModel.Item(id: $0.id, patientName: "\($0.patientFirstName) \($0.patientLastName)",
                               title: $0.title, lastActivity: staff.zone.display($0.activityAt), unread: $0.unread)
        }
        return req.page(CaseListView.render(CaseListModel(
            chrome: try req.staffChrome("View Cases", notice: req.query[String.self, at: "left"] == "1" ? "You left the case." : nil), cases: Array(items),
            previousPage: page > 1 ? page - 1 : nil, nextPage: rows.count > Self.pageSize ? page + 1 : nil)))
    }

    // MARK: New Case

    struct NewCaseForm: Content {
        var first_name: String?
        var last_name: String?
        var date_of_birth: String?
        var patient_email: String?
        var title: String?
        var notes: String?
    }

    func newCase(req: Request) async throws -> Response {
        try renderNewCase(req, values: .init(), errors: FieldErrors())
    }

    func create(req: Request) async throws -> Response {
        let staff = try req.requireStaff()
        let form = try req.content.decode(NewCaseForm.self)
        let input = CaseDraft.Input(firstName: form.first_name, lastName: form.last_name, dateOfBirth: form.date_of_birth,
                                    patientEmail: form.patient_email, title: form.title, notes: form.notes)
        let draft: CaseDraft
        switch CaseDraft.validate(input, today: Self.today(req.now)) {
        case .success(let valid): draft = valid
        case .failure(let errors):
            let values = NewCaseModel.Values(
                firstName: form.first_name ?? "", lastName: form.last_name ?? "", dateOfBirth: form.date_of_birth ?? "",
                patientEmail: form.patient_email ?? "", title: form.title ?? "", notes: form.notes ?? "")
            return try renderNewCase(req, values: values, errors: errors, status: .unprocessableEntity)
        }

        let caseID = try await Cases.create(draft, by: staff, req.useCase)
        return req.redirect(to: .caseOverview(caseID, done: .created))
    }

    private func renderNewCase(_ req: Request, values: NewCaseModel.Values, errors: FieldErrors,
                               status: HTTPResponseStatus = .ok) throws -> Response {
        req.page(NewCaseView.render(NewCaseModel(chrome: try req.staffChrome("New Case"), values: values, errors: errors)), status: status)
    }

    // MARK: Case page

    func overview(req: Request) async throws -> Response {
        let (staff, patientCase) = try await req.memberCase()
        let caseID = try patientCase.requireID()
        let members = try await CasesTable.members(of: caseID, on: req.db)
        // The owning practice sees the Patient email whole; other practices' members masked (SPEC §3).
        let patientEmail = patientCase.isOwned(by: staff) ? patientCase.patientEmail
            : patientCase.patientEmail.map(EmailAddress.masked)

        let rawSearch = req.query[String.self, at: "q"]
        var search = "", searchError: String?, results: [CasesTable.Member] = []
        if let rawSearch {
            do {
                search = try TextInput.singleLine(rawSearch, label: "name or practice to search for", maxLength: 100) ?? ""
                // Review L6: at least 3 characters, at most 20 people, never an address.
                guard search.count >= Self.searchMinimum else { throw ValidationError(Self.searchTooShort) }
                results = try await CasesTable.searchStaff(search, notIn: caseID, limit: 20, on: req.db)
            } catch let error as ValidationError {
                searchError = error.message
                search = String(rawSearch.prefix(100))
            }
        }

        // Review M5: the Overview shows the patient's name, date of birth, email and notes.
        try await req.audit(.caseViewed, actor: .staff(staff.id),
                            subject: "case:\(caseID)" + (rawSearch != nil && searchError == nil ? " staff-search-results:\(results.count)" : ""))
        return req.page(CaseOverviewView.render(CaseOverviewModel(
            chrome: try req.staffChrome(patientCase.patientName, notice: Self.notice(req)),
            header: CaseViews.header(patientCase, tab: .overview), practiceName: patientCase.practice.name,
            dateOfBirth: patientCase.patientDateOfBirth, patientEmail: patientEmail, notes: patientCase.notes,
            createdAt: staff.zone.display(patientCase.createdAt), members: members.map(CaseViews.member),
            search: search, searched: rawSearch != nil && searchError == nil,
            results: results.map(CaseViews.member), searchError: searchError, viewerID: staff.id,
            canRemoveOthers: staff.isAdmin && patientCase.isOwned(by: staff))))
    }

    struct AddMemberForm: Content {
        var staff_id: String?
    }

    func addMember(req: Request) async throws -> Response {
        let (staff, patientCase) = try await req.memberCase()
        let caseID = try patientCase.requireID()
        let addition: Cases.Addition = if let newID = try req.content.decode(AddMemberForm.self).staff_id.flatMap(UUID.init(uuidString:)) {
            try await Cases.addMember(newID, to: caseID, by: staff, req.useCase)
        } else { .unknown }
        switch addition {
        case .added: break
        case .alreadyMember: return req.redirect(to: .caseOverview(caseID, done: .alreadyMember))
        case .unknown: throw PublicError(status: .badRequest, message: "Choose a doctor or staff member from the search results.")
        }
        return req.redirect(to: .caseOverview(caseID, done: .memberAdded))
    }

    // MARK: Helpers

    private static func notice(_ req: Request) -> String? {
        switch req.query[String.self, at: "done"].flatMap(Paths.CaseNotice.init(rawValue:)) {
        case .created: "Case created. You are its first member."
        case .memberAdded: "Added to the case."
        case .alreadyMember: "That person is already on this case."
        case .memberRemoved: "Removed from the case."
        case nil: nil
        }
    }

    static func today(_ now: Date) -> CalendarDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: now)
        return CalendarDate(year: c.year!, month: c.month!, day: c.day!)!
    }
}
