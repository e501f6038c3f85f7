import CaseTalkCore
import CaseTalkViews
import Foundation

/// The emails CaseTalk sends about invitations and cases. They name the practice and the person,
/// carry one link, and never a case title, notes or anything clinical (SPEC §3, §4).
enum StaffEmails {
    static func invitation(to address: String, from: String, memberName: String, practiceName: String,
                           link: String, reminder: Bool) -> EmailMessage {
        let subject = reminder
            ? "Reminder: \(practiceName) invited you to CaseTalk"
            : "\(practiceName) invited you to CaseTalk"
        let opening = reminder ? "This is a reminder: " : ""
        let text = """
        Hello,

        \(opening)\(memberName) at \(practiceName) has invited you to CaseTalk, the secure portal \
        your practice uses to talk with you. A secure message is waiting for you there.

        To accept the invitation and set up your account, open this link:
        \(link)

        The link works for 14 days. If you were not expecting this email, you can ignore it.

        CaseTalk never sends medical details by email. Please do not reply to this message.
        """
        let html = page(paragraphs: [
            "Hello,",
            "\(opening)\(memberName) at \(practiceName) has invited you to CaseTalk, the secure portal your practice uses to talk with you. A secure message is waiting for you there.",
        ], link: link, linkText: "Accept the invitation", after: [
            "The link works for 14 days. If you were not expecting this email, you can ignore it.",
            "CaseTalk never sends medical details by email. Please do not reply to this message.",
        ])
        return EmailMessage(from: from, to: address, subject: subject, text: text, html: html)
    }

    static func addedToCase(to address: String, from: String, adderName: String, practiceName: String, link: String) -> EmailMessage {
        let text = """
        Hello,

        \(adderName) at \(practiceName) added you to a case on CaseTalk.

        Open the case:
        \(link)

        Please do not reply to this message.
        """
        let html = page(paragraphs: [
            "Hello,",
            "\(adderName) at \(practiceName) added you to a case on CaseTalk.",
        ], link: link, linkText: "Open the case", after: ["Please do not reply to this message."])
        return EmailMessage(from: from, to: address, subject: "You were added to a case on CaseTalk", text: text, html: html)
    }

    /// SPEC §4: a member wrote; the email says who the practice is and links to the message, nothing more.
    static func newMessage(to address: String, from: String, practiceName: String, link: String) -> EmailMessage {
        let text = """
        Hello,

        You have a new secure message from \(practiceName) on CaseTalk.

        Sign in to read it:
        \(link)

        CaseTalk never sends medical details by email. Please do not reply to this message.
        """
        let html = page(paragraphs: ["Hello,", "You have a new secure message from \(practiceName) on CaseTalk."],
                        link: link, linkText: "Read the message",
                        after: ["CaseTalk never sends medical details by email. Please do not reply to this message."])
        return EmailMessage(from: from, to: address, subject: "You have a new secure message from \(practiceName)", text: text, html: html)
    }

    /// SPEC §4: the patient replied; the member gets a link to the case's Patient Talk.
    static func patientReplied(to address: String, from: String, link: String) -> EmailMessage {
        let text = """
        Hello,

        A patient replied to you on CaseTalk.

        Open your Patient Talk:
        \(link)

        Please do not reply to this message.
        """
        let html = page(paragraphs: ["Hello,", "A patient replied to you on CaseTalk."], link: link, linkText: "Open Patient Talk",
                        after: ["Please do not reply to this message."])
        return EmailMessage(from: from, to: address, subject: "A patient replied on CaseTalk", text: text, html: html)
    }

    /// SPEC §3: every member is told when the invitation of a case they are on goes to a new
    /// address, by whom, with a link to the case; neither the address nor the patient is named.
    static func invitationAddressChanged(to address: String, from: String, changerName: String, practiceName: String,
                                         link: String) -> EmailMessage {
        let text = """
        Hello,

        \(changerName) at \(practiceName) sent the patient invitation of a case you are on to a new email address. \
        The case's Patient Talk shows which address, and who registers from it.

        Open the case:
        \(link)

        Please do not reply to this message.
        """
        let html = page(paragraphs: ["Hello,", "\(changerName) at \(practiceName) sent the patient invitation of a case you are on to a new email address. The case's Patient Talk shows which address, and who registers from it."],
                        link: link, linkText: "Open the case", after: ["Please do not reply to this message."])
        return EmailMessage(from: from, to: address, subject: "A patient invitation went to a new address on CaseTalk", text: text, html: html)
    }

    /// SPEC §3: the date of birth was answered wrongly 3 times, so the invitation's link ended.
    /// The inviting member is told, with a link to the case; nothing about the patient.
    static func invitationEnded(to address: String, from: String, link: String) -> EmailMessage {
        let text = """
        Hello,

        A patient invitation you sent on CaseTalk no longer works: the date of birth was answered \
        wrongly 3 times. If the address was right, send a new invitation from the case.

        Open the case:
        \(link)

        Please do not reply to this message.
        """
        let html = page(paragraphs: ["Hello,", "A patient invitation you sent on CaseTalk no longer works: the date of birth was answered wrongly 3 times. If the address was right, send a new invitation from the case."],
                        link: link, linkText: "Open the case", after: ["Please do not reply to this message."])
        return EmailMessage(from: from, to: address, subject: "A patient invitation was stopped on CaseTalk", text: text, html: html)
    }

    /// The HTML part (see `EmailView`): each paragraph's names were escaped where they were interpolated.
    static func page(paragraphs: [HTML], link: String?, linkText: String = "", after: [HTML] = []) -> String {
        EmailView.render(paragraphs, link: link, linkText: linkText, after: after).text
    }
}
