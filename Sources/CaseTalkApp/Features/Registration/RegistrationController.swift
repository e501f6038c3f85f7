import CaseTalkCore
import Fluent
import Vapor

/// The patient's way in from the invitation email (SPEC §3). The registration steps themselves
/// (phone, code, Terms of Use, password) build on the session this sets up.
struct RegistrationController: RouteCollection {
    static let invalidMessage = "This invitation is no longer valid. Ask your practice to send a new one."

    struct WelcomePage: Encodable {
        let chrome: PageChrome
        let memberName: String
        let practiceName: String
    }

    struct InvalidPage: Encodable {
        let chrome: PageChrome
        let message: String
    }

    func boot(routes: any RoutesBuilder) throws {
        routes.get("register", ":token", use: openLink)
        routes.get("register", use: start)
    }

    /// Opening the link changes nothing but the invitation's *opened* mark (mail scanners fetch
    /// links too), then moves the token into the session and off the URL.
    func openLink(req: Request) async throws -> Response {
        guard let token = req.parameters.get("token"), token.utf8.count == 43,
              token.utf8.allSatisfy({ $0 == 45 || $0 == 95 || ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) })
        else { return try await invalid(req) }
        let hash = Digest.sha256Hex(token)
        let now = req.now
        guard let invitation = try await Invitations.live(tokenHash: hash, now: now, on: req.db) else { return try await invalid(req) }
        if invitation.status == .sent {
            let invitationID = try invitation.requireID()
            try await req.db.transaction { tx in
                try await Invitation.query(on: tx).filter(\.$id == invitationID).filter(\.$status == .sent)
                    .set(\.$status, to: .opened).set(\.$openedAt, to: now).update()
                try await req.audit(.invitationOpened, actor: .anonymous, subject: "invitation:\(invitationID)", on: tx)
            }
        }
        try await req.rememberRegistration(tokenHash: hash)
        return req.redirect(to: "/register")
    }

    func start(req: Request) async throws -> Response {
        guard let hash = req.session?.registrationTokenHash,
              let invitation = try await Invitations.live(tokenHash: hash, now: req.now, on: req.db) else {
            return try await invalid(req)
        }
        try await invitation.$invitedBy.load(on: req.db)
        try await invitation.invitedBy.$practice.load(on: req.db)
        return try await req.view.render("register/welcome", WelcomePage(
            chrome: PageChrome(title: "Your CaseTalk invitation", csrf: req.session?.csrfToken),
            memberName: invitation.invitedBy.name, practiceName: invitation.invitedBy.practice.name)).encodeResponse(for: req)
    }

    private func invalid(_ req: Request) async throws -> Response {
        let response = try await req.view.render("register/invalid", InvalidPage(
            chrome: PageChrome(title: "Invitation no longer valid"), message: Self.invalidMessage)).encodeResponse(for: req)
        response.status = .notFound
        return response
    }
}
