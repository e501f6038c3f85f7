@testable import CaseTalkApp
import CaseTalkCore
import Foundation
import Testing
import VaporTesting

/// Every URL the product links or redirects to comes from `Paths` (issue 17); these tests tie it
/// to the router both ways.
@Suite struct PathsTests {
    static let id = UUID()

    /// One of each case, with the values a page would give it.
    static let samples: [Paths] = [
        .home, .signIn(), .signIn(next: "/cases", notice: .registered), .signOut, .sessionAlive,
        .twoStep(), .twoStep(recovery: true, next: "/cases"), .twoStepSetup(next: "/inbox"), .signInVerify,
        .forgotPassword(), .forgotPassword(sent: true), .resetLink(token: "abc_DEF-123"), .resetStart, .resetPassword,
        .invitationLink(token: "abc_DEF-123"), .registration, .acceptInvitation,
        .portal(), .portal(joined: true), .inbox(), .inbox(page: 2), .conversation(id), .conversation(id, page: 3, sent: true),
        .cases(), .cases(page: 2), .newCase, .practice(), .practice(done: .unlocked), .unlockStaff(id), .departure(id), .reactivateStaff(id), .resetTwoStep(id), .editStaff(id), .inviteStaff, .practiceSettings, .account(), .account(done: .password), .accountPassword, .accountSignOutOthers, .accountRecoveryCodes, .resendStaffInvitation(id), .cancelStaffInvitation(id), .staffInvitationLink(token: "t"), .caseOverview(id), .caseOverview(id, search: "cy", done: .memberAdded), .caseMembers(id), .removeMember(id, staff: id), .cases(left: true),
        .patientTalk(id), .patientTalk(id, page: 2, done: .message), .invite(id), .resendInvitation(id), .revokeInvitation(id),
        .removePatientAccess(id), .caseAttachments(id), .caseAttachments(id, show: .images, sort: .name),
        .caseAttachment(id, file: id, show: .documents, sort: .date), .patientTalkUpload(id), .conversationUpload(id), .patientTalkFiles(id), .conversationFiles(id), .file(id), .file(id, download: true), .devMailbox, .devMailboxItem(id), .devMailboxItemHTML(id),
    ] + Paths.CodeFlow.allCases.flatMap { flow in
        [Paths.codeMethod(flow), .codeMethod(flow, next: "/cases"), .code(flow), .code(flow, sentAgain: true, next: "/inbox"), .codeResend(flow)]
    } + RegistrationStep.allCases.map { Paths.registrationStep($0) }

    /// The registered routes' patterns, as `Paths.Route` writes them (the development mailbox
    /// is registered only where it is served).
    static func registered() async throws -> Set<String> {
        var patterns = Set<String>()
        try await withCaseTalk(adjust: { $0.isDevelopment = true }) { app, _ in
            #expect(app.caseTalk.config.servesDevelopmentMailbox)
            for route in app.routes.all {
                patterns.insert("/" + route.path.map(\.description).joined(separator: "/"))
            }
        }
        return patterns
    }

    @Test func everyPathIsARegisteredRouteAndEveryPageRouteHasAPath() async throws {
        let registered = try await Self.registered()
        let known = Set(Paths.Route.allCases.map(\.rawValue))
        #expect(known.subtracting(registered).isEmpty, "paths without a route: \(known.subtracting(registered).sorted())")
        // The health checks are for load balancers, never linked.
        let unlinked = registered.subtracting(known).subtracting(["/healthz", "/readyz"])
        #expect(unlinked.isEmpty, "routes without a path: \(unlinked.sorted())")
    }

    @Test func everyRouteHasASampleAndEverySampleFollowsItsRoute() throws {
        #expect(Set(Self.samples.map(\.route)) == Set(Paths.Route.allCases))
        for path in Self.samples {
            let whole = path.path
            let (pathPart, query) = whole.firstIndex(of: "?").map { (String(whole[..<$0]), String(whole[whole.index(after: $0)...])) }
                ?? (whole, "")
            let pattern = path.route.rawValue.split(separator: "/")
            let segments = pathPart.split(separator: "/")
            #expect(segments.count == pattern.count, "\(whole)")
            for (segment, expected) in zip(segments, pattern) where !expected.hasPrefix(":") {
                #expect(segment == expected, "\(whole)")
            }
            #expect(!query.contains("?") && !query.contains("#"), "\(whole)")
        }
    }

    @Test func valuesAreEscapedSoTheyCannotEndTheirPart() {
        #expect(Paths.signIn(next: "/a?b=c&d#e f").path == "/login?next=/a%3Fb%3Dc%26d%23e%20f")
        #expect(Paths.caseOverview(Self.id, search: "a&done=created").path == "/cases/\(Self.id.uuidString)?q=a%26done%3Dcreated")
        #expect(Paths.resetLink(token: "../x/y?z").path == "/password/reset/..%2Fx%2Fy%3Fz")
        #expect(Paths.twoStep(recovery: true, next: "/cases").path == "/login/two-step?recovery=1&next=/cases")
        #expect(Paths.code(.signIn, sentAgain: true).path == "/login/verify/code?sent=again")
    }
}
