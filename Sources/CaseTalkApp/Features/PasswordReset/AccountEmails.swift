import CaseTalkCore
import CaseTalkViews
import Foundation

/// The emails of Forgot password? (SPEC §4). Like every CaseTalk email they carry one link at most
/// and nothing about cases or messages.
enum AccountEmails {
    static func resetLink(to address: String, from: String, link: String) -> EmailMessage {
        let text = """
        Hello,

        Someone asked to reset the password of your CaseTalk account. If it was you, open this link:
        \(link)

        We will then send a secret code to the phone number you confirmed when you registered. \
        The link works for 30 minutes, once.

        If you did not ask, ignore this email: your password stays as it is. Please do not reply to this message.
        """
        let html = StaffEmails.page(paragraphs: ["Hello,", "Someone asked to reset the password of your CaseTalk account. If it was you, open this link:"],
                                    link: link, linkText: "Reset your password",
                                    after: ["We will then send a secret code to the phone number you confirmed when you registered. The link works for 30 minutes, once.",
                                            "If you did not ask, ignore this email: your password stays as it is. Please do not reply to this message."])
        return EmailMessage(from: from, to: address, subject: "Reset your CaseTalk password", text: text, html: html)
    }

    static func passwordChanged(to address: String, from: String, signInLink: String) -> EmailMessage {
        let text = """
        Hello,

        The password of your CaseTalk account was just changed, and every other place you were \
        signed in has been signed out.

        If you did this, there is nothing more to do. If you did not, contact your practice at once.

        Sign in:
        \(signInLink)

        Please do not reply to this message.
        """
        let html = StaffEmails.page(paragraphs: ["Hello,", "The password of your CaseTalk account was just changed, and every other place you were signed in has been signed out.",
                                                 "If you did this, there is nothing more to do. If you did not, contact your practice at once."],
                                    link: signInLink, linkText: "Sign in", after: ["Please do not reply to this message."])
        return EmailMessage(from: from, to: address, subject: "Your CaseTalk password was changed", text: text, html: html)
    }

    /// After a sign-in from a browser not seen before (SPEC §5): when, and what to do if it was not them.
    static func newBrowserSignIn(to address: String, from: String, signInLink: String) -> EmailMessage {
        let first = "Your CaseTalk account was just signed in to from a browser it had not seen before, after a secret code sent to your phone."
        let second = "If this was you, there is nothing more to do. If it was not, reset your password from Forgot password? on the sign-in page, and contact your practice."
        let text = """
        Hello,

        \(first)

        \(second)

        Sign in:
        \(signInLink)

        Please do not reply to this message.
        """
        let html = StaffEmails.page(paragraphs: ["Hello,", "\(first)", "\(second)"], link: signInLink, linkText: "Sign in",
                                    after: ["Please do not reply to this message."])
        return EmailMessage(from: from, to: address, subject: "New sign-in to your CaseTalk account", text: text, html: html)
    }

    /// Staff accounts have no verified phone, so their password cannot be reset from the sign-in page.
    static func staffReset(to address: String, from: String) -> EmailMessage {
        let text = """
        Hello,

        Someone asked to reset the password of your CaseTalk practice account. Practice accounts \
        cannot be reset from the sign-in page: ask the person who runs CaseTalk for your practice \
        to set a new one for you (the `casetalk staff password` command).

        If you did not ask, ignore this email: your password stays as it is. Please do not reply to this message.
        """
        let body: [HTML] = ["Hello,",
                    "Someone asked to reset the password of your CaseTalk practice account. Practice accounts cannot be reset from the sign-in page: ask the person who runs CaseTalk for your practice to set a new one for you (the casetalk staff password command).",
                    "If you did not ask, ignore this email: your password stays as it is. Please do not reply to this message."]
        let html = StaffEmails.page(paragraphs: body, link: nil)
        return EmailMessage(from: from, to: address, subject: "About your CaseTalk password", text: text, html: html)
    }
}
