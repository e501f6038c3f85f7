@testable import CaseTalkApp
import CaseTalkCore
import Foundation
import Testing
import VaporTesting

/// Every page template renders with a sample context, so a broken template fails `swift test`
/// rather than a patient's page. A template without a sample here fails too.
@Suite struct TemplateTests {
    static let chrome = PageChrome(title: "Sample", csrf: "token", userName: "Dr. Sample", practiceName: "Sample Practice", notice: "Saved.")
    static let header = CaseViews.Header(id: UUID().uuidString, patientName: "Ana Silva", title: "Crown", tab: "overview")
    static let member = CaseViews.Member(id: UUID().uuidString, name: "Dr. Cy", role: "Doctor", practiceName: "Northside")

    static let invitation = PatientTalkController.InvitationView(
        email: "a•••@example.com", state: "Sent", sentBy: "Dr. Sample (Sample Practice)", events: [.init(label: "Sent", date: "today")],
        delivery: "Delivery failed, retrying: could not reach the mail server.", deliveryProblem: true, canResend: true, canRevoke: true,
        canChangeAddress: false, controlNote: "Only Riverside, whose case this is, can send the invitation to another address.",
        registeredAs: "Registered as a•••@example.com, phone ••44, on today", canRemoveAccess: true)
    static let entry = Conversations.Entry(id: UUID().uuidString, mine: true, author: "Dr. Sample", date: "today",
                                           text: "Line one\n<b>not bold</b>", read: "today")
    static let mailItem = DevMailboxController.Item(id: UUID().uuidString, kind: "email", recipient: "ana@example.com",
                                                    subject: "Sample", createdAt: "today")

    static let samples: [String: any Encodable & Sendable] = [
        "signin/login": SignInController.Page(chrome: chrome, email: "a@example.com", next: "/cases", error: "Email or password is incorrect"),
        "cases/index": CaseViews.ListPage(chrome: chrome, cases: [.init(id: "1", patientName: "Ana Silva", title: "Crown", lastActivity: "now", unread: 2)],
                                          page: 2, previousPage: 1, nextPage: 3),
        "cases/new": CaseViews.NewCasePage(chrome: chrome, values: .init(firstName: "Ana"), errors: ["title": "Enter the case title."],
                                           errorList: ["Enter the case title."]),
        "cases/overview": CaseViews.OverviewPage(chrome: chrome, header: header, practiceName: "Riverside", dateOfBirth: "1990-01-01",
                                                 patientEmail: "ana@example.com", notes: "Line one\nLine two", createdAt: "today",
                                                 members: [member], search: "cy", searched: true, results: [member], searchError: nil),
        "cases/talk": PatientTalkController.TalkPage(chrome: chrome, header: header, invitation: invitation,
                                                     values: .init(email: "a@example.com"), errors: ["email": "Enter an email address."],
                                                     thread: .init(entries: [entry], earlierPage: 3, laterPage: 1), sendKey: "k", draft: "Hello",
                                                     messageError: "Enter the message."),
        "cases/invite": PatientTalkController.InvitePage(chrome: chrome, header: header, current: invitation, values: .init(),
                                                         errors: ["confirm_email": "The two email addresses do not match."],
                                                         errorList: ["The two email addresses do not match."]),
        "register/stopped": RegistrationPages.StoppedPage(chrome: chrome, heading: "Invitation no longer valid",
                                                          message: RegistrationController.invalidMessage),
        "register/existing": RegistrationPages.ExistingPage(chrome: chrome, memberName: "Dr. Sample", practiceName: "Sample Practice", signedIn: true),
        "register/birth-date": RegistrationPages.BirthDatePage(chrome: chrome, steps: .init(.birthDate, of: RegistrationStep.allCases),
                                                               memberName: "Dr. Sample", practiceName: "Sample Practice", value: "13/45/1990",
                                                               error: "Enter your date of birth as month, day and year, for example 04/27/1986."),
        "register/phones": RegistrationPages.PhonesPage(chrome: chrome, steps: .init(.phones, of: RegistrationStep.allCases), memberName: "Dr. Sample",
                                                        practiceName: "Sample Practice", values: .init(mobile: "+14155550123"),
                                                        errors: ["home": "Home: Enter a 10-digit US number."],
                                                        errorList: ["Home: Enter a 10-digit US number."]),
        "register/method": RegistrationPages.MethodPage(chrome: chrome, path: "/register", steps: .init(.method, of: RegistrationStep.allCases),
                                                        why: nil, next: nil, options: [.init(value: "sms-mobile", label: "Text message (SMS) to your mobile number",
                                                                        number: "+14155550123", checked: true)],
                                                        error: RegistrationController.providerFailedMessage),
        "register/code": RegistrationPages.CodePage(chrome: chrome, path: "/password/reset", steps: nil, sentTo: "by text message to your mobile number ending in 23",
                                                    waitSeconds: 12, offersRemember: true, next: "/inbox", error: "That code is not right."),
        "signin/two-step": TwoStepController.CodePage(chrome: chrome, recovery: true, next: "/cases/1", nextQuery: "/cases/1",
                                                      error: TwoStepController.wrongRecoveryCode),
        "signin/setup": TwoStepController.SetupPage(chrome: chrome, qrPath: try! QRCode("otpauth://totp/x").svgPath, qrSide: 29,
                                                    key: "ABCD EFGH", next: nil, error: TwoStepController.wrongSetupCode),
        "signin/recovery-codes": TwoStepController.RecoveryCodesPage(chrome: chrome, codes: ["abcd-efgh-ijkl-mnop"], next: "/cases"),
        "register/terms": RegistrationPages.TermsPage(chrome: chrome, steps: .init(.terms, of: RegistrationStep.allCases), version: "2026-11-01",
                                                      sections: [.init(heading: "1. Sample", paragraphs: ["One.", "Two."])], error: nil),
        "register/password": RegistrationPages.PasswordPage(chrome: chrome, path: "/register", steps: .init(.password, of: RegistrationStep.allCases),
                                                            heading: "Set password", email: "ana@example.com", emailName: "ana",
                                                            rules: [.init(key: "length", label: "At least 12 characters", unmet: true)],
                                                            errorList: ["The two passwords do not match."], minLength: 12, maxLength: 128),
        "password/forgot": PasswordResetController.ForgotPage(chrome: chrome, email: "ana@", error: "Enter a valid email address, like name@example.com."),
        "portal/home": PortalController.HomePage(chrome: chrome, cases: [.init(practiceName: "Riverside", title: "Crown", joined: "today")],
                                                 unread: 2),
        "inbox/index": InboxController.ListPage(chrome: chrome, conversations: [.init(id: "1", practiceName: "Riverside", memberName: "Dr. Cy",
                                                                                     caseTitle: "Crown", lastActivity: "today", unread: 1)],
                                                hasConversations: true, previousPage: 1, nextPage: 3),
        "inbox/thread": InboxController.ThreadPage(chrome: chrome, id: "1", memberName: "Dr. Cy", practiceName: "Riverside", caseTitle: "Crown",
                                                   thread: .init(entries: [entry], earlierPage: nil, laterPage: nil), sendKey: "k", draft: "",
                                                   error: "Enter the message."),
        "dev/mailbox": DevMailboxController.ListPage(chrome: chrome, codes: [.init(email: "maya@example.com", code: "123456")],
                                                     items: [mailItem]),
        "dev/mailbox-item": DevMailboxController.ItemPage(chrome: chrome, item: mailItem, text: "Hello,\nline two"),
        "errors/error": ErrorPagesMiddleware.Context(chrome: chrome, status: 404, message: "We couldn't find that page."),
    ]

    static func templateNames() throws -> [String] {
        let root = DirectoryConfiguration.detect().viewsDirectory
        let enumerator = try #require(FileManager.default.enumerator(atPath: root))
        return enumerator.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".leaf") && $0 != "layout.leaf" && !($0 as NSString).lastPathComponent.hasPrefix("_") }
            .map { String($0.dropLast(".leaf".count)) }
            .sorted()
    }

    @Test func everyTemplateHasASample() throws {
        let names = try Self.templateNames()
        #expect(!names.isEmpty)
        #expect(Set(names) == Set(Self.samples.keys))
    }

    @Test func everyTemplateRenders() async throws {
        try await withCaseTalk { app, _ in
            for (name, context) in Self.samples {
                let view = try await app.view.render(name, context).get()
                let html = String(buffer: view.data)
                #expect(html.contains("<!doctype html>"), "\(name) uses the layout")
                #expect(html.contains("Dr. Sample") || name == "signin/login", "\(name) shows who is signed in")
                #expect(!html.contains("#("), "\(name) left a tag unrendered")
            }
        }
    }

    @Test func pagesLoadScriptOnlyFromFiles() throws {
        let root = DirectoryConfiguration.detect().viewsDirectory
        for name in try Self.templateNames() + ["layout", "cases/_header", "register/_steps", "messages/_thread"] {
            let text = try String(contentsOfFile: root + name + ".leaf", encoding: .utf8)
            #expect(!text.contains("<script>"), "\(name) has inline script")
            #expect(text.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil, "\(name) has an inline handler")
            #expect(!text.contains("unsafeHTML"), "\(name) renders raw HTML")
        }
    }
}
