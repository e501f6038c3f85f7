@testable import CaseTalkApp
import CaseTalkCore
import CaseTalkViews
import Foundation
import Testing
import VaporTesting

/// Every page as a typed view, drawn from sample models that reach each branch of it. Before the
/// Leaf templates were removed, the same samples were rendered by both and compared (issue 17).
@Suite struct ViewTests {
    static let chrome = PageChrome(title: "Sample", csrf: "token", userName: "Dr. Sample", practiceName: "Sample Practice", notice: "Saved.")
    static let caseID = UUID()
    static let header = CaseHeader(id: caseID, patientName: "Ana Silva", title: "Crown", tab: .overview)
    static let talkHeader = CaseHeader(id: caseID, patientName: "Ana Silva", title: "Crown", tab: .talk)
    static let member = CaseMemberModel(id: UUID(), name: "Dr. Cy", role: "Doctor", practiceName: "Northside")
    static let hostile = #""><script>alert(1)</script> O'Neil & co"#

    static let invitation = InvitationModel(
        email: "a•••@example.com", state: "Sent", isRevoked: false, sentBy: "Dr. Sample (Sample Practice)", events: [.init(label: "Sent", date: "today")],
        delivery: "Delivery failed, retrying: could not reach the mail server.", deliveryProblem: true, canResend: true, canRevoke: true,
        canChangeAddress: false, controlNote: "Only Riverside, whose case this is, can send the invitation to another address.",
        registeredAs: "Registered as a•••@example.com, phone ••44, on today", canRemoveAccess: true)
    static let ownInvitation = InvitationModel(
        email: "a•••@example.com", state: "Opened", isRevoked: false, sentBy: "Dr. Sample (Sample Practice)", events: [.init(label: "Sent", date: "today")],
        delivery: "The email is queued for delivery.", deliveryProblem: false, canResend: true, canRevoke: true,
        canChangeAddress: true, controlNote: nil, registeredAs: nil, canRemoveAccess: false)
    static let revoked = InvitationModel(
        email: "a•••@example.com", state: "Revoked", isRevoked: true, sentBy: "Dr. Sample (Sample Practice)", events: [],
        delivery: nil, deliveryProblem: false, canResend: false, canRevoke: false,
        canChangeAddress: true, controlNote: nil, registeredAs: nil, canRemoveAccess: false)
    static let entry = ThreadEntry(id: UUID().uuidString, mine: true, author: "Dr. Sample", date: "today", text: "Line one\n<b>not bold</b> " + hostile, read: "today")
    /// With files whose names are hostile: a photo shown, a PDF to download, one being checked.
    static let theirs = ThreadEntry(id: UUID().uuidString, mine: false, author: "Ana Silva", date: "today", text: "Thanks", read: nil, files: [
        ThreadFile(id: UUID(), name: hostile + ".jpg", size: "1.2 MB", typeLabel: "JPEG image", shown: true, takenAt: "Nov 30, 2026 at 2:05 PM"),
        ThreadFile(id: UUID(), name: hostile + ".pdf", size: "80 KB", typeLabel: "PDF document", shown: false, takenAt: nil),
        ThreadFile(id: UUID(), name: "scan.pdf", size: "80 KB", typeLabel: "PDF document", shown: false, takenAt: nil, checking: true),
    ])
    static let mailItem = MailboxItem(id: UUID(), kind: "email", recipient: "ana@example.com", subject: "Sample", createdAt: "today")
    static let conversationID = UUID()

    struct Sample: Sendable {
        let name: String
        let html: HTML
    }

    static func sample<M>(_ name: String, _ model: M, _ render: (M) -> HTML) -> Sample {
        Sample(name: name, html: render(model))
    }

    static let samples: [Sample] = [
        sample("signin/login", SignInModel(chrome: chrome, email: "a@example.com", next: "/cases", error: "Email or password is incorrect"), SignInView.render),
        sample("signin/login", SignInModel(chrome: PageChrome(title: "Sign In", csrf: "t"), email: hostile, next: nil, error: nil), SignInView.render),
        sample("cases/index", CaseListModel(chrome: chrome, cases: [.init(id: caseID, patientName: "Ana Silva", title: hostile, lastActivity: "now", unread: 2),
                                                                   .init(id: UUID(), patientName: "Bo", title: "Crown", lastActivity: "now", unread: 0)],
                                            previousPage: 1, nextPage: 3), CaseListView.render),
        sample("cases/index", CaseListModel(chrome: chrome, cases: [], previousPage: nil, nextPage: nil), CaseListView.render),
        sample("cases/new", NewCaseModel(chrome: chrome, values: .init(firstName: hostile, lastName: "", dateOfBirth: "", patientEmail: "", title: "", notes: "x\ny"),
                                         errors: { var e = FieldErrors(); e.add("title", "Enter the case title."); e.add("notes", "Too long."); return e }()),
               NewCaseView.render),
        sample("cases/overview", CaseOverviewModel(chrome: chrome, header: header, practiceName: "Riverside", dateOfBirth: "1990-01-01",
                                                   patientEmail: "ana@example.com", notes: "Line one\nLine two", createdAt: "today",
                                                   members: [member], search: "cy", searched: true, results: [member], searchError: nil),
               CaseOverviewView.render),
        sample("cases/overview", CaseOverviewModel(chrome: chrome, header: header, practiceName: "Riverside", dateOfBirth: nil,
                                                   patientEmail: nil, notes: nil, createdAt: "today",
                                                   members: [member], search: "c", searched: false, results: [], searchError: "Type at least 3 letters."),
               CaseOverviewView.render),
        sample("cases/overview", CaseOverviewModel(chrome: chrome, header: header, practiceName: "Riverside", dateOfBirth: nil,
                                                   patientEmail: nil, notes: nil, createdAt: "today",
                                                   members: [member], search: "zzz", searched: true, results: [], searchError: nil),
               CaseOverviewView.render),
        sample("cases/talk", PatientTalkModel(chrome: chrome, header: talkHeader, invitation: invitation,
                                              values: .init(email: "a@example.com"), errors: ["email": "Enter an email address."],
                                              thread: .init(entries: [entry, theirs], earlierPage: 3, laterPage: 1), sendKey: "k", draft: "Hello",
                                              messageError: "Enter the message."),
               PatientTalkView.render),
        sample("cases/talk", PatientTalkModel(chrome: chrome, header: talkHeader, invitation: ownInvitation,
                                              values: .init(email: hostile, confirmEmail: ""), errors: ["confirm_email": "They differ."],
                                              thread: .empty, sendKey: "k", draft: "", messageError: nil),
               PatientTalkView.render),
        sample("cases/talk", PatientTalkModel(chrome: chrome, header: talkHeader, invitation: revoked, values: .init(), errors: [:],
                                              thread: .empty, sendKey: "k", draft: "", messageError: nil),
               PatientTalkView.render),
        sample("cases/talk", PatientTalkModel(chrome: chrome, header: talkHeader, invitation: nil, values: .init(), errors: [:],
                                              thread: .empty, sendKey: "k", draft: "", messageError: nil),
               PatientTalkView.render),
        sample("cases/invite", InviteModel(chrome: chrome, header: talkHeader, current: invitation, values: .init(),
                                           errors: { var e = FieldErrors(); e.add("confirm_email", "The two email addresses do not match."); return e }()),
               InviteView.render),
        sample("cases/invite", InviteModel(chrome: chrome, header: talkHeader, current: nil, values: .init(email: "a@b.c", confirmEmail: "a@b.c"),
                                           errors: FieldErrors()), InviteView.render),
        sample("register/stopped", StoppedModel(chrome: chrome, heading: "Invitation no longer valid", message: RegistrationController.invalidMessage),
               StoppedView.render),
        sample("register/existing", ExistingAccountModel(chrome: chrome, memberName: "Dr. Sample", practiceName: "Sample Practice", signedIn: true),
               ExistingAccountView.render),
        sample("register/existing", ExistingAccountModel(chrome: chrome, memberName: "Dr. Sample", practiceName: hostile, signedIn: false),
               ExistingAccountView.render),
        sample("register/birth-date", BirthDateModel(chrome: chrome, steps: .init(.birthDate, of: RegistrationStep.allCases),
                                                     memberName: "Dr. Sample", practiceName: "Sample Practice", value: "13/45/1990",
                                                     error: "Enter your date of birth as month, day and year, for example 04/27/1986."),
               BirthDateView.render),
        sample("register/birth-date", BirthDateModel(chrome: chrome, steps: .init(.birthDate, of: RegistrationStep.allCases),
                                                     memberName: "Dr. Sample", practiceName: "Sample Practice", value: "", error: nil),
               BirthDateView.render),
        sample("register/phones", PhonesModel(chrome: chrome, steps: .init(.phones, of: RegistrationStep.allCases), memberName: "Dr. Sample",
                                              practiceName: "Sample Practice", values: .init(mobile: "+14155550123"),
                                              errors: { var e = FieldErrors(); e.add("home", "Home: Enter a 10-digit US number."); e.add("mobile", "Mobile: no."); return e }()),
               PhonesView.render),
        sample("register/method", MethodModel(chrome: chrome, flow: .registration, steps: .init(.method, of: RegistrationStep.allCases),
                                              why: nil, next: nil,
                                              options: [.init(value: "sms-mobile", label: "Text message (SMS) to your mobile number", number: "ending in 23", checked: true),
                                                        .init(value: "voice-home", label: "Voice call", number: "ending in 44", checked: false)],
                                              error: StepPages.providerFailedMessage), MethodView.render),
        sample("register/method", MethodModel(chrome: chrome, flow: .signIn, steps: nil, why: "Because.", next: "/inbox",
                                              options: [.init(value: "sms-mobile", label: "Text", number: "ending in 23", checked: true)], error: nil),
               MethodView.render),
        sample("register/code", CodeModel(chrome: chrome, flow: .passwordReset, steps: nil, sentTo: "by text message to your mobile number ending in 23",
                                          waitSeconds: 12, offersRemember: true, next: nil, error: "That code is not right."), CodeView.render),
        sample("register/code", CodeModel(chrome: chrome, flow: .registration, steps: .init(.code, of: RegistrationStep.allCases), sentTo: "to the number you chose",
                                          waitSeconds: 0, offersRemember: false, next: nil, error: nil), CodeView.render),
        // A sign-in's page to return to stays on Change Delivery Method.
        sample("register/code", CodeModel(chrome: chrome, flow: .signIn, steps: nil, sentTo: "to the number you chose",
                                          waitSeconds: 0, offersRemember: true, next: "/inbox", error: nil), CodeView.render),
        sample("signin/two-step", TwoStepModel(chrome: chrome, recovery: true, next: "/cases/1", error: TwoStepController.wrongRecoveryCode),
               TwoStepView.render),
        sample("signin/two-step", TwoStepModel(chrome: chrome, recovery: false, next: nil, error: nil), TwoStepView.render),
        sample("signin/setup", TwoStepSetupModel(chrome: chrome, qrPath: try! QRCode("otpauth://totp/x").svgPath, qrSide: 29,
                                                 key: "ABCD EFGH", next: nil, error: TwoStepController.wrongSetupCode), TwoStepSetupView.render),
        // Without a QR code, no empty picture.
        sample("signin/setup", TwoStepSetupModel(chrome: chrome, qrPath: "", qrSide: 0, key: "ABCD", next: "/cases", error: nil), TwoStepSetupView.render),
        sample("signin/recovery-codes", RecoveryCodesModel(chrome: chrome, codes: ["abcd-efgh-ijkl-mnop", "qrst-uvwx-yz23-4567"], next: "/cases"),
               RecoveryCodesView.render),
        sample("register/terms", TermsModel(chrome: chrome, steps: .init(.terms, of: RegistrationStep.allCases), version: "2026-11-01",
                                            sections: [.init(heading: "1. Sample", paragraphs: ["One.", "Two."]), .init(heading: nil, paragraphs: ["Three."])],
                                            error: "Read the Terms."), TermsView.render),
        sample("register/password", PasswordModel(chrome: chrome, action: .registrationStep(.password), steps: .init(.password, of: RegistrationStep.allCases),
                                                  heading: "Set password", email: "ana@example.com", emailName: "ana",
                                                  rules: [.init(key: "length", label: "At least 12 characters", unmet: true),
                                                          .init(key: "match", label: "The same twice", unmet: false)],
                                                  errorList: ["The two passwords do not match."], minLength: 12, maxLength: 128), PasswordView.render),
        sample("register/password", PasswordModel(chrome: chrome, action: .resetPassword, steps: nil, heading: "Choose a new password",
                                                  email: "ana@example.com", emailName: "ana", rules: [], errorList: [], minLength: 12, maxLength: 128),
               PasswordView.render),
        sample("password/forgot", ForgotPasswordModel(chrome: chrome, email: "ana@", error: "Enter a valid email address, like name@example.com."),
               ForgotPasswordView.render),
        sample("password/forgot", ForgotPasswordModel(chrome: PageChrome(title: "Forgot password?", csrf: "t", notice: "Sent."), email: "", error: nil),
               ForgotPasswordView.render),
        sample("portal/home", PortalModel(chrome: PageChrome(title: "Your CaseTalk", csrf: "t", userName: "Ana", isPatient: true),
                                          cases: [.init(practiceName: "Riverside", title: hostile, joined: "today")], unread: 2), PortalView.render),
        sample("portal/home", PortalModel(chrome: chrome, cases: [], unread: 0), PortalView.render),
        sample("inbox/index", InboxModel(chrome: chrome, conversations: [.init(id: conversationID, practiceName: "Riverside", memberName: "Dr. Cy",
                                                                               caseTitle: "Crown", lastActivity: "today", unread: 1),
                                                                         .init(id: UUID(), practiceName: "R", memberName: hostile,
                                                                               caseTitle: "Crown", lastActivity: "today", unread: 0)],
                                         previousPage: 1, nextPage: 3), InboxView.render),
        sample("inbox/index", InboxModel(chrome: chrome, conversations: [], previousPage: nil, nextPage: nil), InboxView.render),
        sample("inbox/thread", InboxThreadModel(chrome: chrome, id: conversationID, memberName: "Dr. Cy", practiceName: "Riverside", caseTitle: "Crown",
                                                thread: .init(entries: [entry, theirs], earlierPage: 2, laterPage: nil), sendKey: "k", draft: "",
                                                error: "Enter the message."),
               InboxThreadView.render),
        sample("inbox/thread", InboxThreadModel(chrome: chrome, id: conversationID, memberName: "Dr. Cy", practiceName: "Riverside", caseTitle: "Crown",
                                                thread: .init(entries: [theirs], earlierPage: nil, laterPage: nil), sendKey: "k", draft: "kept",
                                                error: nil, fileErrors: [hostile + ".svg: This type of file can't be sent."]),
               InboxThreadView.render),
        sample("cases/attachments", CaseAttachmentsModel(chrome: chrome, header: talkHeader, items: theirs.files.map {
            GalleryItem(file: $0, date: "today", at: Date()) }, show: nil, sort: .name), CaseAttachmentsView.render),
        sample("cases/attachments", CaseAttachmentsModel(chrome: chrome, header: talkHeader, items: [], show: .images, sort: nil),
               CaseAttachmentsView.render),
        sample("cases/attachment", CaseAttachmentModel(chrome: chrome, header: talkHeader, item: GalleryItem(file: theirs.files[0], date: "today", at: Date()),
                                                       position: 2, count: 3, previous: UUID(), next: UUID(), show: .images, sort: .date),
               CaseAttachmentView.render),
        sample("cases/attachment", CaseAttachmentModel(chrome: chrome, header: talkHeader, item: GalleryItem(file: theirs.files[1], date: "today", at: Date()),
                                                       position: 1, count: 1, previous: nil, next: nil, show: nil, sort: nil),
               CaseAttachmentView.render),
        sample("dev/mailbox", MailboxModel(chrome: chrome, codes: [.init(email: "maya@example.com", code: "123456"), .init(email: "b@example.com", code: nil)],
                                           items: [mailItem]), MailboxView.render),
        sample("dev/mailbox", MailboxModel(chrome: chrome, codes: [], items: []), MailboxView.render),
        sample("dev/mailbox-item", MailboxItemModel(chrome: chrome, item: mailItem, text: "Hello,\nline two"), MailboxItemView.render),
        sample("errors/error", ErrorModel(chrome: chrome, message: "We couldn't find that page."), ErrorView.render),
        sample("errors/error", ErrorModel(chrome: PageChrome(title: "Not Found"), message: hostile), ErrorView.render),
    ]

    @Test func everyViewRendersAPage() {
        for sample in Self.samples {
            let html = sample.html.text
            #expect(html.hasPrefix("<!doctype html>"), "\(sample.name) uses the layout")
            #expect(!html.contains("<script>"), "\(sample.name) has inline script or unescaped text")
            #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil, "\(sample.name) has an inline handler")
            #expect(!html.contains(Self.hostile), "\(sample.name) wrote text unescaped")
        }
        let hostilePages = Self.samples.filter { $0.html.text.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Neil &amp; co") }
        #expect(hostilePages.count >= 8, "the hostile text is shown, escaped, on the pages that carry it")
    }
}
