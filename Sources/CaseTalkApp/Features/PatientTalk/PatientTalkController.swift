import CaseTalkCore
import CaseTalkViews
import Fluent
import Vapor

/// The Patient Talk tab, the Invite Patient form and Re-Invite Patient (SPEC §2, §3).
struct PatientTalkController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let talk = routes.grouped("cases", ":caseID")
        talk.get("talk", use: show)
        talk.post("talk", use: write)
        talk.get("invite", use: inviteForm)
        talk.post("invite", use: invite)
        talk.post("invitation", "resend", use: resend)
        talk.post("invitation", "revoke", use: revoke)
        talk.post("patient", "remove", use: removePatientAccess)
        routes.on(.POST, "uploads", "cases", ":caseID", "talk", body: .stream, use: writeWithFiles)
        routes.on(.POST, "uploads", "cases", ":caseID", "talk", "files", body: .stream, use: sendFileAhead)
    }

    // MARK: Pages

    func show(req: Request) async throws -> Response {
        let (_, patientCase) = try await req.memberCase()
        return try await renderTalk(req, patientCase, values: .init(), errors: [:], notice: Self.notice(req))
    }

    /// **Send** in Patient Talk: a message from this member to the patient, who may not have
    /// registered yet (it waits for them).
    func write(req: Request) async throws -> Response {
        try await send(req, Uploads.Received(Conversations.SendForm(req)))
    }

    /// **Send** with **Attach files** (SPEC §8): the form streams in, its files stored as they
    /// arrive; a refused file keeps nothing but the typed message.
    func writeWithFiles(req: Request) async throws -> Response {
        // Not a member, or no such case: 404 before a byte of a file is read.
        _ = try await req.memberCase()
        return try await send(req, try await req.receiveMessageForm(staff: true))
    }

    /// One file of the form, sent ahead by the page's script so that a failed one can be sent
    /// again alone; **Send** then names it (see `Paths.patientTalkFiles`).
    func sendFileAhead(req: Request) async throws -> Response {
        let (staff, patientCase) = try await req.memberCase()
        let caseID = try patientCase.requireID()
        try await req.rateLimit(.messageSend, account: .staff(staff.id))
        return try await req.receiveFileSentAhead(staff: true) { file in
            try await Attachments.sendAhead(file, by: .member, caseID: caseID, memberID: staff.id, actor: .staff(staff.id), req.useCase)
        }
    }

    private func send(_ req: Request, _ form: Uploads.Received) async throws -> Response {
        let staff = try req.requireStaff()
        // Not a member, or no such case: the write's own query refuses it (404).
        guard let caseID = req.parameters.get("caseID", as: UUID.self) else { throw PublicError.notFound }
        let idempotencyKey = Conversations.idempotencyKey(form.field("idempotency_key"))
        let outcome = try await Uploads.submit(form, limits: req.caseTalk.attachmentLimits(staff: true),
                                               store: req.caseTalk.attachments) { text, files, ahead in
            try await req.rateLimit(.messageSend, account: .staff(staff.id))
            if !ahead.isEmpty {
                let conversation = try await Conversations.forMember(caseID: caseID, memberID: staff.id, on: req.db)
                try await Attachments.requireWaiting(ahead, conversationID: conversation?.id, author: .member,
                                                     idempotencyKey: idempotencyKey, on: req.db)
            }
            try await Conversations.send(text, files: files, sentAhead: ahead, by: .member, caseID: caseID, memberID: staff.id,
                                         idempotencyKey: idempotencyKey, actor: .staff(staff.id), req.useCase)
        }
        guard case .refused(let messageError, let fileErrors, let status) = outcome else {
            return req.answerSent(to: .patientTalk(caseID, done: .message))
        }
        let (_, patientCase) = try await req.memberCase()
        return try await renderTalk(req, patientCase, values: .init(), errors: [:], notice: nil,
                                    draft: String((form.field("body") ?? "").prefix(Conversations.maxLength)),
                                    messageError: messageError, fileErrors: fileErrors, status: status)
    }

    func inviteForm(req: Request) async throws -> Response {
        let (_, patientCase) = try await req.memberCase()
        let values = InviteValues(email: patientCase.patientEmail ?? "", confirmEmail: "")
        return try await renderInvite(req, patientCase, values: values, errors: FieldErrors())
    }

    // MARK: Actions

    struct InviteForm: Content {
        var email: String?
        var confirm_email: String?
        /// `talk` when sent from the corrected-address form on the Patient Talk tab.
        var from: String?
    }

    func invite(req: Request) async throws -> Response {
        let (staff, patientCase) = try await req.memberCase()
        let form = try req.content.decode(InviteForm.self)
        switch CaseTalkCore.InviteForm.validate(email: form.email, confirmation: form.confirm_email) {
        case .failure(let errors):
            let values = InviteValues(email: String((form.email ?? "").prefix(254)), confirmEmail: String((form.confirm_email ?? "").prefix(254)))
            return form.from == "talk"
                ? try await renderTalk(req, patientCase, values: values, errors: errors.byField, notice: nil, status: .unprocessableEntity)
                : try await renderInvite(req, patientCase, values: values, errors: errors, status: .unprocessableEntity)
        case .success(let address):
            return try await change(.send(address), req, staff, patientCase, done: .invited)
        }
    }

    func resend(req: Request) async throws -> Response {
        let (staff, patientCase) = try await req.memberCase()
        return try await change(.resend, req, staff, patientCase, done: .resent)
    }

    func revoke(req: Request) async throws -> Response {
        let (staff, patientCase) = try await req.memberCase()
        return try await change(.revoke, req, staff, patientCase, done: .revoked)
    }

    /// **Remove patient access**, for the owning practice (others get the reason, 403).
    func removePatientAccess(req: Request) async throws -> Response {
        let (staff, patientCase) = try await req.memberCase()
        let caseID = try patientCase.requireID()
        do {
            try await Invitations.removePatientAccess(from: patientCase, by: staff, req.useCase)
        } catch let error as Invitations.NotPossible {
            throw PublicError(status: .forbidden, message: error.message)
        }
        return req.redirect(to: .patientTalk(caseID, done: .removed))
    }

    private func change(_ change: Invitations.Change, _ req: Request, _ staff: SignedInStaff, _ patientCase: PatientCase,
                        done: Paths.TalkNotice) async throws -> Response {
        let caseID = try patientCase.requireID()
        try await req.rateLimit(.invitation, account: .staff(staff.id))
        do {
            try await Invitations.apply(change, to: patientCase, by: staff, req.useCase)
        } catch let error as Invitations.NotPossible {
            throw PublicError(status: .conflict, message: error.message)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Another member invited the patient of this case at the same moment (one invitation per case).
            throw PublicError(status: .conflict, message: "Someone else changed this invitation just now. Reload the page and try again.")
        }
        return req.redirect(to: .patientTalk(caseID, done: done))
    }

    // MARK: Rendering

    private func renderTalk(_ req: Request, _ patientCase: PatientCase, values: InviteValues, errors: [String: String],
                            notice: String?, draft: String = "", messageError: String? = nil, fileErrors: [String] = [],
                            status: HTTPResponseStatus = .ok) async throws -> Response {
        let staff = try req.requireStaff()
        let caseID = try patientCase.requireID()
        let invitation = try await invitationView(req, patientCase, staff: staff)
        let show = { (thread: ThreadModel) in
            req.page(PatientTalkView.render(PatientTalkModel(
                chrome: try req.staffChrome("Patient Talk · \(patientCase.patientName)", notice: notice),
                header: CaseViews.header(patientCase, tab: .talk), invitation: invitation,
                values: values, errors: errors, thread: thread, sendKey: SecureRandom.token(), draft: draft, messageError: messageError,
                fileErrors: fileErrors)),
                     status: status)
        }
        guard let conversation = try await Conversations.forMember(caseID: caseID, memberID: staff.id, on: req.db) else {
            return try show(.empty)
        }
        let conversationID = try conversation.requireID()
        return try show(try await Conversations.open(conversationID, as: .member, names: (staff.name, patientCase.patientName), zone: staff.zone,
                                                     handovers: try await HandoversTable.of(conversationID, on: req.db),
                                                     page: req.query[Int.self, at: "page"] ?? 1, actor: .staff(staff.id), req.useCase))
    }

    private func renderInvite(_ req: Request, _ patientCase: PatientCase, values: InviteValues, errors: FieldErrors,
                              status: HTTPResponseStatus = .ok) async throws -> Response {
        req.page(InviteView.render(InviteModel(
            chrome: try req.staffChrome("Invite Patient · \(patientCase.patientName)"),
            header: CaseViews.header(patientCase, tab: .talk),
            current: try await invitationView(req, patientCase, staff: try req.requireStaff()),
            values: values, errors: errors)), status: status)
    }

    /// The invitation's state for staff, with the delivery of its latest email.
    private func invitationView(_ req: Request, _ patientCase: PatientCase, staff: SignedInStaff) async throws -> InvitationModel? {
        let caseID = try patientCase.requireID()
        guard let invitation = try await Invitation.query(on: req.db).filter(\.$patientCase.$id == caseID)
            .with(\.$invitedBy) { $0.with(\.$practice) }.first() else { return nil }
        let owns = patientCase.isOwned(by: staff)
        let now = req.now
        let latest = try await OutboxEmail.query(on: req.db).filter(\.$relatedID == invitation.id)
            .sort(\.$createdAt, .descending).first()
        let state = invitation.state(at: now)

        var events = [InvitationModel.Event(label: "Sent", date: staff.zone.display(invitation.sentAt))]
        if let opened = invitation.openedAt { events.append(.init(label: "Opened", date: staff.zone.display(opened))) }
        if let verified = invitation.codeVerifiedAt { events.append(.init(label: "Code verified", date: staff.zone.display(verified))) }
        if let registered = invitation.registeredAt { events.append(.init(label: "Registered", date: staff.zone.display(registered))) }
        if let revoked = invitation.revokedAt, state == .revoked { events.append(.init(label: "Revoked", date: staff.zone.display(revoked))) }
        if state != .registered, state != .revoked {
            events.append(.init(label: state == .expired ? "Expired" : "Expires", date: staff.zone.display(invitation.expiresAt)))
        }

        var delivery: String?
        var problem = false
        if let latest, state != .revoked, state != .registered {
            switch latest.status {
            case .pending where latest.attempts > 0 && latest.lastError != nil:
                delivery = "Delivery failed, retrying: \(latest.lastError!)."
                problem = true
            case .pending:
                delivery = "The email is queued for delivery."
            case .sent:
                delivery = "The email was handed to the mail server on \(staff.zone.display(latest.sentAt ?? latest.createdAt))."
            case .failed:
                delivery = "The email could not be delivered: \(latest.lastError ?? "the mail server refused it"). Check the address and send it again."
                problem = true
            case .skipped:
                // Only new-message notifications are skipped; an invitation email never is.
                delivery = nil
            }
        }
        let registered = try await CasesTable.registeredPatient(of: caseID, on: req.db)
        let registeredAs = registered.map { account in
            "Registered as \(EmailAddress.masked(account.email)), phone ••\(account.verifiedNumber.suffix(2)), on \(staff.zone.display(account.joinedAt))"
        }
        let sender = invitation.invitedBy
        return InvitationModel(email: EmailAddress.masked(invitation.email), state: Self.label(state), isRevoked: state == .revoked,
                              sentBy: "\(sender.name) (\(sender.practice.name))", events: events, delivery: delivery,
                              deliveryProblem: problem, canResend: state != .registered && state != .revoked,
                              canRevoke: owns && (state == .sent || state == .opened || state == .codeVerified),
                              canChangeAddress: owns,
                              controlNote: owns ? nil : InvitationControl.otherAddressMessage(patientCase.practice.name),
                              registeredAs: registeredAs, canRemoveAccess: owns && registered != nil)
    }

    static func label(_ state: Invitation.State) -> String {
        switch state {
        case .sent: "Sent"
        case .opened: "Opened"
        case .codeVerified: "Code verified"
        case .registered: "Registered"
        case .expired: "Expired"
        case .revoked: "Revoked"
        }
    }

    private static func notice(_ req: Request) -> String? {
        switch req.query[String.self, at: "done"].flatMap(Paths.TalkNotice.init(rawValue:)) {
        case .invited: "Invitation sent. The patient will get an email with a link to register."
        case .resent: "Invitation sent again. The earlier link no longer works."
        case .revoked: "Invitation revoked. Its link no longer works."
        case .removed: "The patient's access to this case was removed. You can send a new invitation."
        case .message: "Message sent."
        case nil: nil
        }
    }
}
