import CaseTalkCore
import CaseTalkViews
import Vapor

/// A staff invitation's link (SPEC §9): **Set password** with the patients' policy and checklist,
/// then **Set up two-step verification** (the sign-in's own step), then the person is signed in.
/// The form posts back to the link, which stays usable until it is used (once), replaced,
/// cancelled or 72 hours old; the request log names the route, never the token, and pages send
/// no Referer.
struct StaffJoinController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("join", ":token", use: page)
        routes.post("join", ":token", use: setPassword)
    }

    struct PasswordForm: Content { var password: String?; var confirmation: String? }

    func page(req: Request) async throws -> Response {
        guard let (token, invitation) = try await live(req) else { return try await stopped(req) }
        return try password(req, token: token, invitation, broken: nil)
    }

    func setPassword(req: Request) async throws -> Response {
        guard let (token, invitation) = try await live(req), let email = try? EmailAddress(invitation.email) else {
            return try await stopped(req)
        }
        let form = try req.content.decode(PasswordForm.self)
        let password = form.password ?? ""
        let broken = PasswordPolicy.unmet(password, confirmation: form.confirmation ?? "", email: email, common: req.caseTalk.commonPasswords)
        guard broken.isEmpty else { return try self.password(req, token: token, invitation, broken: broken) }
        let hash = try await req.caseTalk.passwords.hash(password)
        switch try await StaffInvitations.accept(invitation, passwordHash: hash, req.useCase) {
        case .accepted(let staffID):
            // The new account signs in through its second step: two-step verification is set up
            // now, before anything else opens (SPEC §9).
            try await req.replaceSession(with: nil, pending: PendingSignIn(account: .staff(staffID), factor: .totpSetup))
            return req.redirect(to: .twoStepSetup())
        case .invalid:
            return try await stopped(req)
        case .addressTaken:
            return try await StepPages.stopped(req, heading: "This address has an account",
                                               message: "An account already uses this email address: sign in with it, or ask your practice's admin to invite another address.",
                                               status: .conflict)
        }
    }

    private func live(_ req: Request) async throws -> (String, StaffInvitationsTable.Live)? {
        guard let token = req.parameters.get("token"), SecureRandom.isTokenShaped(token),
              let invitation = try await StaffInvitationsTable.live(tokenHash: Digest.sha256Hex(token), now: req.now, on: req.db) else {
            return nil
        }
        return (token, invitation)
    }

    private func password(_ req: Request, token: String, _ invitation: StaffInvitationsTable.Live,
                          broken: [PasswordPolicy.Rule]?) throws -> Response {
        let email = try EmailAddress(invitation.email)
        return StepPages.password(req, email: email, action: .staffInvitationLink(token: token),
                                  chrome: PageChrome(title: "Set password · \(invitation.practiceName)", csrf: req.formToken()),
                                  steps: nil, heading: "Set password", broken: broken)
    }

    private func stopped(_ req: Request) async throws -> Response {
        try await StepPages.stopped(req, heading: "This invitation link does not work",
                                    message: "It was used already, replaced by a newer one, cancelled, or it is more than 72 hours old. Ask your practice's admin to send a new one.",
                                    status: .notFound)
    }
}
