import CaseTalkCore
import Fluent
import Foundation
import NIOCore
import Vapor

/// A failure of the SMS/voice provider. Never counted against the patient (SPEC §3); the
/// description is safe to log (no number, no code).
struct PhoneDeliveryError: Error, CustomStringConvertible {
    let description: String
}

/// Sends verification codes. Codes are sent directly, not through the outbox: they expire too
/// fast for a queue, and a failure must be shown to the patient at once (SPEC §6).
protocol PhoneSender: Sendable {
    func send(code: String, to number: PhoneNumber, by channel: CodeChannel) async throws
}

/// The Twilio-compatible REST API of SPEC §6: `Messages.json` (To, From, Body) and `Calls.json`
/// (To, From, Twiml), with HTTP Basic auth by account SID and auth token.
struct TwilioSender: PhoneSender {
    let settings: AppConfig.Twilio
    let baseURL: String
    let client: any Client
    var timeout: TimeAmount = .seconds(10)

    func send(code: String, to number: PhoneNumber, by channel: CodeChannel) async throws {
        let resource = channel == .sms ? "Messages.json" : "Calls.json"
        let sid = settings.accountSID.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let uri = URI(string: "\(baseURL)/2010-04-01/Accounts/\(sid)/\(resource)")
        var headers = HTTPHeaders()
        headers.basicAuthorization = BasicAuthorization(username: settings.accountSID, password: settings.authToken)
        let fields: [String: String] = channel == .sms
            ? ["To": number.e164, "From": settings.fromNumber, "Body": CodeMessages.sms(code: code)]
            : ["To": number.e164, "From": settings.fromNumber, "Twiml": CodeMessages.twiml(code: code)]
        let response: ClientResponse
        do {
            let timeout = self.timeout
            response = try await client.post(uri, headers: headers, beforeSend: { (request: inout ClientRequest) in
                try request.content.encode(fields, as: .urlEncodedForm)
                request.timeout = timeout
            })
        } catch {
            throw PhoneDeliveryError(description: "the SMS/voice provider could not be reached")
        }
        guard (200..<300).contains(response.status.code) else {
            throw PhoneDeliveryError(description: "the SMS/voice provider answered \(response.status.code)")
        }
    }
}

/// Development without Twilio settings: texts and calls land in the development mailbox.
struct DevMailboxPhoneSender: PhoneSender {
    let database: @Sendable () -> any Database
    let clock: AppClock

    func send(code: String, to number: PhoneNumber, by channel: CodeChannel) async throws {
        let item = channel == .sms
            ? DevMailboxItem(kind: "sms", recipient: number.e164, subject: "Text message",
                             text: CodeMessages.sms(code: code), html: "", createdAt: clock.now())
            : DevMailboxItem(kind: "call", recipient: number.e164, subject: "Voice call",
                             text: CodeMessages.spoken(code: code), html: CodeMessages.twiml(code: code), createdAt: clock.now())
        try await item.create(on: database())
    }
}
