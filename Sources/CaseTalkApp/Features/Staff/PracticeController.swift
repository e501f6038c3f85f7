import CaseTalkCore
import CaseTalkViews
import Fluent
import Vapor

/// **Practice** (SPEC §9): a practice admin's view of their own practice's staff. Anyone else
/// signed in as staff gets 404, as for anything not theirs to see.
struct PracticeController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("practice", use: practice)
        routes.post("practice", "staff", ":staffID", "unlock", use: unlock)
        routes.get("practice", "staff", ":staffID", "deactivate", use: departure)
        routes.post("practice", "staff", ":staffID", "deactivate", use: deactivate)
        routes.post("practice", "staff", ":staffID", "reactivate", use: reactivate)
        routes.post("practice", "staff", ":staffID", "reset-two-step", use: resetTwoStep)
        routes.get("practice", "staff", ":staffID", "edit", use: editForm)
        routes.post("practice", "staff", ":staffID", "edit", use: edit)
        routes.post("practice", "invitations", use: invite)
        routes.post("practice", "settings", use: saveSettings)
        routes.post("practice", "invitations", ":invitationID", "resend", use: resendInvitation)
        routes.post("practice", "invitations", ":invitationID", "cancel", use: cancelInvitation)
    }

    func practice(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let notice = req.query[String.self, at: "done"].flatMap(Paths.PracticeNotice.init(rawValue:)).map(Self.notice)
        return try await renderPractice(req, admin, notice: notice)
    }

    private func renderPractice(_ req: Request, _ admin: SignedInStaff, notice: String?, invite: PracticeModel.InviteValues = .init(),
                                inviteErrors: [String: String] = [:], status: HTTPResponseStatus = .ok,
                                problem: String? = nil, settings: PracticeModel.Settings? = nil) async throws -> Response {
        let now = req.now
        let undecided = try await ConversationsTable.undecidedCounts(ofPractice: admin.practiceID, on: req.db)
        let staff = try await AccountsTable.staff(ofPractice: admin.practiceID, on: req.db).map { member in
            let locked = member.deactivatedAt == nil && (member.lockedUntil.map { $0 > now } ?? false)
            return PracticeModel.Member(id: member.id, name: member.name, email: member.email,
                                        role: StaffRole(rawValue: member.role)?.label ?? member.role, isAdmin: member.isAdmin,
                                        status: member.deactivatedAt != nil ? "Deactivated" : locked ? "Locked" : "Active",
                                        twoStep: member.totpEnabledAt == nil ? "Not set up" : "On",
                                        lastSignIn: member.lastSignInAt.map { admin.zone.display($0) } ?? "Never",
                                        locked: locked, deactivated: member.deactivatedAt != nil, undecidedTalks: undecided[member.id] ?? 0,
                                        canResetTwoStep: member.id != admin.id && member.deactivatedAt == nil && member.totpEnabledAt != nil)
        }
        let invitations = try await StaffInvitationsTable.pending(ofPractice: admin.practiceID, on: req.db).map { invitation in
            PracticeModel.Invitation(id: invitation.id, name: invitation.name, email: invitation.email,
                                     role: StaffRole(rawValue: invitation.role)?.label ?? invitation.role, isAdmin: invitation.isAdmin,
                                     status: invitation.expiresAt > now ? "Invited" : "Invitation expired")
        }
        let shownSettings = if let settings { settings } else { try await currentSettings(admin, on: req.db) }
        return req.page(PracticeView.render(PracticeModel(chrome: try req.staffChrome("Practice", notice: notice),
                                                          practiceName: admin.practiceName, staff: staff, invitations: invitations,
                                                          invite: invite, inviteErrors: inviteErrors, error: problem,
                                                          settings: shownSettings)), status: status)
    }

    // MARK: Practice settings

    func saveSettings(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let name = req.formField("practice_name"), zone = req.formField("time_zone")
        guard let problems = try await StaffAdministration.saveSettings(name: name, timeZone: zone, by: admin, req.useCase) else {
            return req.redirect(to: .practice(done: .settings))
        }
        return try await renderPractice(req, admin, notice: nil, status: .badRequest,
                                        settings: .init(name: String((name ?? "").prefix(200)), timeZone: zone ?? "", errors: problems.byField))
    }

    // MARK: Invite Staff

    /// **Invite Staff** (SPEC §9): Email Address, Name, Role, Practice admin.
    func invite(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let email = req.formField("email"), name = req.formField("name"), role = req.formField("role")
        let isAdmin = req.formField("admin") == "1"
        let values = PracticeModel.InviteValues(email: String((email ?? "").prefix(254)), name: String((name ?? "").prefix(100)),
                                                role: role.flatMap(StaffRole.init(rawValue:)) ?? .staff, isAdmin: isAdmin)
        let problems: FieldErrors
        switch StaffInvitations.Invite.check(email: email, name: name, role: role, isAdmin: isAdmin) {
        case .failure(let errors): problems = errors
        case .success(let checked):
            guard let refused = try await StaffInvitations.invite(checked, by: admin, req.useCase) else {
                return req.redirect(to: .practice(done: .invited))
            }
            problems = refused
        }
        return try await renderPractice(req, admin, notice: nil, invite: values, inviteErrors: problems.byField, status: .badRequest)
    }

    /// **Resend**, to the address in the row's field (corrected, or as it was).
    func resendInvitation(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        guard let id = req.parameters.get("invitationID", as: UUID.self) else { throw PublicError.notFound }
        let raw = req.formField("email") ?? ""
        var corrected: EmailAddress? = nil
        if !raw.isEmpty {
            do { corrected = try EmailAddress(raw) } catch {
                return try await renderPractice(req, admin, notice: nil, inviteErrors: [:], status: .badRequest,
                                                problem: "Nothing was sent: \(error.message)")
            }
        }
        guard try await StaffInvitations.resend(id, to: corrected, by: admin, req.useCase) else { throw PublicError.notFound }
        return req.redirect(to: .practice(done: .resent))
    }

    /// **Cancel invitation**: its link stops working.
    func cancelInvitation(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        guard let id = req.parameters.get("invitationID", as: UUID.self),
              try await StaffInvitations.cancel(id, by: admin, req.useCase) else { throw PublicError.notFound }
        return req.redirect(to: .practice(done: .cancelled))
    }

    /// **Unlock** (SPEC §9): lifts a colleague's sign-in lock, in the admin's own practice only
    /// (the statement's own condition); audited. Anyone else's id, or no such id: 404.
    func unlock(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let staffID = try await member(req, admin).id
        let use = req.useCase
        let unlocked = try await use.db.transaction { tx in
            guard try await AccountsTable.unlockStaff(staffID, practiceID: admin.practiceID, now: use.now, on: tx) else { return false }
            try await Audit.record(.staffUnlocked, actor: .staff(admin.id), subject: "staff:\(staffID)", clientAddress: use.clientAddress,
                                   at: use.now, key: use.services.auditKey, on: tx)
            return true
        }
        return req.redirect(to: .practice(done: unlocked ? .unlocked : nil))
    }

    private func currentSettings(_ admin: SignedInStaff, on db: any Database) async throws -> PracticeModel.Settings {
        let practice = try await Practice.find(admin.practiceID, on: db)
        return .init(name: practice?.name ?? admin.practiceName, timeZone: practice?.timeZone ?? admin.zone.identifier, errors: [:])
    }

    static func notice(_ done: Paths.PracticeNotice) -> String {
        switch done {
        case .unlocked: "The account was unlocked: its owner can sign in again."
        case .deactivated: "The account was deactivated: it was signed out everywhere and can no longer sign in."
        case .reactivated: "The account was reactivated: its owner signs in with their password and sets up two-step verification again."
        case .decided: "Your decisions were saved."
        case .edited: "The changes were saved."
        case .invited: "The invitation was sent: its link works for 72 hours, once."
        case .resent: "A new invitation was sent; the earlier link no longer works."
        case .cancelled: "The invitation was cancelled: its link no longer works."
        case .settings: "The practice settings were saved."
        case .twoStepReset: "Two-step verification was reset: its owner was signed out and sets it up again at the next sign-in."
        }
    }

    static func lastAdmin(_ name: String) -> String {
        "\(name) is the last active admin of this practice: make someone else a practice admin first."
    }

    // MARK: Edit

    func editForm(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let member = try await member(req, admin)
        return try renderEdit(req, member, name: member.name, role: StaffRole(rawValue: member.role) ?? .staff, isAdmin: member.isAdmin,
                              errors: [:], error: nil)
    }

    /// **Edit** (SPEC §9): name, role, admin mark; the last active admin keeps the mark.
    func edit(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let member = try await member(req, admin)
        let rawName = req.formField("name"), rawRole = req.formField("role") ?? ""
        let isAdmin = req.formField("admin") == "1"
        var errors = FieldErrors()
        guard let (name, role) = StaffAdministration.checkDetails(name: rawName, role: rawRole, into: &errors) else {
            return try renderEdit(req, member, name: String((rawName ?? "").prefix(100)), role: StaffRole(rawValue: rawRole) ?? .staff,
                                  isAdmin: isAdmin, errors: errors.byField,
                                  error: errors["role"] ?? "Nothing was saved: see the field marked below.", status: .badRequest)
        }
        switch try await StaffAdministration.edit(member.id, name: name, role: role, isAdmin: isAdmin, by: admin, req.useCase) {
        case .notFound: throw PublicError.notFound
        case .lastAdmin:
            return try renderEdit(req, member, name: name, role: role, isAdmin: isAdmin, errors: [:], error: Self.lastAdmin(member.name),
                                  status: .conflict)
        case .saved: return req.redirect(to: .practice(done: .edited))
        }
    }

    /// The staff member the route names, of the admin's practice; else 404.
    private func member(_ req: Request, _ admin: SignedInStaff) async throws -> AccountsTable.StaffMember {
        guard let staffID = req.parameters.get("staffID", as: UUID.self),
              let member = try await AccountsTable.staff(ofPractice: admin.practiceID, on: req.db).first(where: { $0.id == staffID }) else {
            throw PublicError.notFound
        }
        return member
    }

    private func renderEdit(_ req: Request, _ member: AccountsTable.StaffMember, name: String, role: StaffRole, isAdmin: Bool,
                            errors: [String: String], error: String?, status: HTTPResponseStatus = .ok) throws -> Response {
        req.page(EditStaffView.render(EditStaffModel(chrome: try req.staffChrome("Edit \(member.name)"), memberID: member.id,
                                                     memberName: member.name, name: name, role: role, isAdmin: isAdmin,
                                                     errors: errors, error: error)), status: status)
    }

    // MARK: Deactivate, Reactivate

    /// **Deactivate** (SPEC §9): the page that asks what becomes of each open Patient Talk; for a
    /// member already deactivated, the same decisions on those still waiting.
    func departure(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let (member, talks) = try await departing(req, admin)
        return try render(req, member: member, talks: talks, choices: [:], allChoice: "", errors: [:], error: nil)
    }

    func deactivate(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let (member, talks) = try await departing(req, admin)
        let allChoice = req.formField("all") ?? ""
        var choices: [UUID: String] = [:], decisions: [UUID: Departures.Decision] = [:], errors: [UUID: String] = [:]
        var allTaker: UUID? = nil
        if !allChoice.isEmpty {
            guard let id = UUID(uuidString: allChoice), talks.contains(where: { $0.takers.contains { $0.id == id } }) else {
                return try render(req, member: member, talks: talks, choices: [:], allChoice: "", errors: [:],
                                  error: "Choose a colleague of this practice for Hand over all.", status: .badRequest)
            }
            allTaker = id
        }
        for talk in talks {
            let raw = req.formField("talk-\(talk.id.uuidString)") ?? "later"
            choices[talk.id] = raw
            switch raw {
            case "later":
                guard let allTaker else { continue }
                if talk.takers.contains(where: { $0.id == allTaker }) {
                    decisions[talk.id] = .handOver(to: allTaker)
                } else {
                    errors[talk.id] = "The colleague chosen for Hand over all has a Patient Talk of their own on this case: choose someone else, or Close."
                }
            case "close":
                decisions[talk.id] = .close
            default:
                guard let taker = UUID(uuidString: raw), talk.takers.contains(where: { $0.id == taker }) else {
                    errors[talk.id] = "Choose a colleague from the list, Close, or Decide later."
                    continue
                }
                decisions[talk.id] = .handOver(to: taker)
            }
        }
        guard errors.isEmpty else {
            return try render(req, member: member, talks: talks, choices: choices, allChoice: allChoice, errors: errors,
                              error: "Nothing was changed: see the Patient Talks marked below.", status: .badRequest)
        }
        switch try await Departures.deactivate(member.id, decisions: decisions, by: admin, req.useCase) {
        case .notFound: throw PublicError.notFound
        case .lastAdmin:
            return try render(req, member: member, talks: talks, choices: choices, allChoice: allChoice, errors: [:],
                              error: Self.lastAdmin(member.name), status: .conflict)
        case .done(let deactivated, _, _):
            return req.redirect(to: .practice(done: deactivated ? .deactivated : .decided))
        }
    }

    /// **Reset two-step verification** (SPEC §9): for a colleague who lost their phone.
    func resetTwoStep(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let member = try await member(req, admin)
        guard try await StaffAdministration.resetTwoStep(member.id, by: admin, req.useCase) else { return req.redirect(to: .practice()) }
        return req.redirect(to: .practice(done: .twoStepReset))
    }

    /// **Reactivate** (SPEC §9): sign-in comes back, two-step verification to set up again.
    func reactivate(req: Request) async throws -> Response {
        let admin = try req.requirePracticeAdmin()
        let member = try await member(req, admin)
        // Active already: nothing to do.
        guard try await Departures.reactivate(member.id, by: admin, req.useCase) else { return req.redirect(to: .practice()) }
        return req.redirect(to: .practice(done: .reactivated))
    }

    /// The member the route names, in the admin's practice (else 404), with their open talks.
    private func departing(_ req: Request, _ admin: SignedInStaff) async throws -> (AccountsTable.StaffMember, [Departures.Talk]) {
        guard let staffID = req.parameters.get("staffID", as: UUID.self),
              let found = try await Departures.talks(of: staffID, practiceID: admin.practiceID, on: req.db) else {
            throw PublicError.notFound
        }
        return found
    }

    private func render(_ req: Request, member: AccountsTable.StaffMember, talks: [Departures.Talk], choices: [UUID: String],
                        allChoice: String, errors: [UUID: String], error: String?, status: HTTPResponseStatus = .ok) throws -> Response {
        let deactivated = member.deactivatedAt != nil
        let zone = try req.requirePracticeAdmin().zone
        var allTakers: [DepartureModel.Taker] = []
        for talk in talks {
            for taker in talk.takers where !allTakers.contains(where: { $0.id == taker.id }) {
                allTakers.append(.init(id: taker.id, name: taker.name))
            }
        }
        let model = DepartureModel(
            chrome: try req.staffChrome(deactivated ? "Patient Talks of \(member.name)" : "Deactivate \(member.name)"),
            memberID: member.id, memberName: member.name, deactivated: deactivated,
            talks: talks.map { talk in
                .init(id: talk.id, caseTitle: talk.caseTitle, patientName: talk.patientName, lastActivity: zone.display(talk.lastMessageAt),
                      takers: talk.takers.map { .init(id: $0.id, name: $0.name) }, choice: choices[talk.id] ?? "later", error: errors[talk.id])
            },
            allTakers: allTakers.sorted { $0.name < $1.name }, allChoice: allChoice, error: error)
        return req.page(DepartureView.render(model), status: status)
    }
}

extension Request {
    /// The signed-in staff member, only if an admin of their practice; anyone else: 404.
    func requirePracticeAdmin() throws -> SignedInStaff {
        let staff = try requireStaff()
        guard staff.isAdmin else { throw PublicError.notFound }
        return staff
    }
}
