import CaseTalkCore
import CaseTalkViews
import Foundation

/// The emails of running a practice (SPEC §9): a staff invitation and a departure's. Like every
/// CaseTalk email they name no patient, case or message: a link at most.
enum PracticeEmails {
    /// A staff invitation: who invites, to which practice, and the link (72 hours, once).
    static func staffInvitation(to address: String, from: String, inviterName: String, practiceName: String, link: String) -> EmailMessage {
        email(to: address, from: from, subject: "\(practiceName) invited you to join CaseTalk",
              paragraphs: ["Hello,", "\(inviterName) invited you to join \(practiceName) on CaseTalk, the secure portal the practice uses to work on cases and talk with patients.",
                           "Open this link to set your password and two-step verification:"],
              link: link, linkText: "Join \(practiceName)",
              after: ["The link works for 72 hours, once. If you were not expecting this email, you can ignore it. Please do not reply to this message."])
    }

    /// To a staff member whose two-step verification an admin reset.
    static func twoStepReset(to address: String, from: String, link: String) -> EmailMessage {
        email(to: address, from: from, subject: "Your CaseTalk two-step verification was reset",
              paragraphs: ["Hello,", "Your practice's admin reset the two-step verification of your CaseTalk account, and every place you were signed in has been signed out.",
                           "Sign in with your password and set up two-step verification again with your new phone:"],
              link: link, linkText: "Sign in",
              after: ["If you did not ask for this, contact your practice at once. Please do not reply to this message."])
    }

    /// To the patient: someone else now reads their messages in a conversation.
    static func careTeamChanged(to address: String, from: String, practiceName: String, link: String) -> EmailMessage {
        email(to: address, from: from, subject: "Your care team has changed",
              paragraphs: ["Hello,", "Your care team at \(practiceName) has changed: someone new now reads your secure messages on CaseTalk."],
              link: link, linkText: "See who reads your messages",
              after: ["CaseTalk never sends medical details by email. Please do not reply to this message."])
    }

    /// To the member a Patient Talk was handed to.
    static func talkHandedOver(to address: String, from: String, link: String) -> EmailMessage {
        email(to: address, from: from, subject: "A Patient Talk was handed over to you on CaseTalk",
              paragraphs: ["Hello,", "A colleague left and a Patient Talk was handed over to you: the patient's messages now come to you."],
              link: link, linkText: "Open Patient Talk", after: ["Please do not reply to this message."])
    }

    /// To a practice's admins: Patient Talks of a departed member closed themselves.
    static func talksClosed(to address: String, from: String, count: Int, link: String) -> EmailMessage {
        let talks = count == 1 ? "1 Patient Talk" : "\(count) Patient Talks"
        return email(to: address, from: from, subject: "Patient Talks closed on CaseTalk",
                     paragraphs: ["Hello,", "\(talks) of a deactivated colleague had no decision for 7 days and closed themselves. Their patients can still read them, and are told whom to contact."],
                     link: link, linkText: "Open Practice", after: ["Please do not reply to this message."])
    }

    private static func email(to address: String, from: String, subject: String, paragraphs: [String], link: String, linkText: String,
                              after: [String]) -> EmailMessage {
        let text = (paragraphs + [link] + after).joined(separator: "\n\n")
        let html = StaffEmails.page(paragraphs: paragraphs.map { "\($0)" }, link: link, linkText: linkText, after: after.map { "\($0)" })
        return EmailMessage(from: from, to: address, subject: subject, text: text, html: html)
    }
}
