@testable import CaseTalkApp
import CaseTalkCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
import VaporTesting

/// A Twilio-compatible server on loopback that records what it is sent.
final class FakeTwilio: Sendable {
    struct Received: Sendable { let path: String; let authorization: String?; let form: [String: String] }
    let app: Application
    let port: Int
    private let received = NIOLockedValueBox<[Received]>([])
    var requests: [Received] { received.withLockedValue { $0 } }

    private init(app: Application, port: Int) { self.app = app; self.port = port }

    /// `status` is what it answers; `delay` how long it waits first.
    static func start(status: HTTPStatus = .created, delay: Duration = .zero) async throws -> FakeTwilio {
        let app = try await Application.make(.testing)
        let box = NIOLockedValueBox<FakeTwilio?>(nil)
        app.post("2010-04-01", "Accounts", ":sid", ":resource") { req async throws -> Response in
            let form = try req.content.decode([String: String].self, as: .urlEncodedForm)
            box.withLockedValue { $0 }?.received.withLockedValue {
                $0.append(Received(path: req.url.path, authorization: req.headers.first(name: .authorization), form: form))
            }
            if delay > .zero { try await Task.sleep(for: delay) }
            return Response(status: status, body: .init(string: #"{"sid":"SM1"}"#))
        }
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        let port = try #require(app.http.server.shared.localAddress?.port)
        let fake = FakeTwilio(app: app, port: port)
        box.withLockedValue { $0 = fake }
        return fake
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() async throws {
        await app.server.shutdown()
        try await app.asyncShutdown()
    }
}

@Suite struct TwilioSenderTests {
    let settings = AppConfig.Twilio(accountSID: "AC123", authToken: "s3cret-token", fromNumber: "+15550100")
    let number = try! PhoneNumber("(415) 555-0123")

    func sender(_ fake: FakeTwilio, _ app: Application, timeout: TimeAmount = .seconds(10)) -> TwilioSender {
        TwilioSender(settings: settings, baseURL: fake.baseURL, client: app.client, timeout: timeout)
    }

    @Test func smsIsOneFormPostWithBasicAuth() async throws {
        let fake = try await FakeTwilio.start()
        try await withCaseTalk { app, _ in
            try await sender(fake, app).send(code: "012345", to: number, by: .sms)
        }
        let request = try #require(fake.requests.first)
        #expect(request.path == "/2010-04-01/Accounts/AC123/Messages.json")
        #expect(request.authorization == "Basic " + Data("AC123:s3cret-token".utf8).base64EncodedString())
        #expect(request.form == ["To": "+14155550123", "From": "+15550100",
                                 "Body": "Your CaseTalk verification code is 012345. Do not share it."])
        try await fake.stop()
    }

    @Test func voiceCallReadsTheDigitsSlowlyTwice() async throws {
        let fake = try await FakeTwilio.start()
        try await withCaseTalk { app, _ in
            try await sender(fake, app).send(code: "904512", to: number, by: .voice)
        }
        let request = try #require(fake.requests.first)
        #expect(request.path == "/2010-04-01/Accounts/AC123/Calls.json")
        #expect(Set(request.form.keys) == ["To", "From", "Twiml"])
        let twiml = try #require(request.form["Twiml"])
        #expect(twiml.hasPrefix("<Response>") && twiml.hasSuffix("</Response>"))
        #expect(twiml.components(separatedBy: "<Say>9. 0. 4. 5. 1. 2.</Say>").count == 3, "the digits, one by one, twice")
        #expect(twiml.contains("<Pause length="))
        try await fake.stop()
    }

    @Test func providerErrorsAndTimeoutsAreReportedWithoutDetails() async throws {
        let failing = try await FakeTwilio.start(status: .internalServerError)
        let slow = try await FakeTwilio.start(delay: .seconds(3))
        try await withCaseTalk { app, _ in
            await #expect(throws: PhoneDeliveryError.self) { try await sender(failing, app).send(code: "111111", to: number, by: .sms) }
            do {
                try await sender(failing, app).send(code: "111111", to: number, by: .sms)
            } catch let error as PhoneDeliveryError {
                #expect(error.description == "the SMS/voice provider answered 500")
                #expect(!error.description.contains("111111") && !error.description.contains("0123"))
            }
            await #expect(throws: PhoneDeliveryError.self) {
                try await sender(slow, app, timeout: .milliseconds(500)).send(code: "111111", to: number, by: .sms)
            }
        }
        try await failing.stop()
        try await slow.stop()
    }
}

@Suite struct CodeMessageTests {
    @Test func smsTextIsExactlyTheSpecs() {
        #expect(CodeMessages.sms(code: "123456") == "Your CaseTalk verification code is 123456. Do not share it.")
    }

    @Test func developmentMailboxGetsTextsAndCalls() async throws {
        try await withCaseTalk { app, _ in
            let number = try PhoneNumber("+44 20 7946 0958")
            try await app.caseTalk.phones.send(code: "246810", to: number, by: .sms)
            try await app.caseTalk.phones.send(code: "135790", to: number, by: .voice)
            let items = try await DevMailboxItem.query(on: app.db).sort(\.$createdAt).all()
            #expect(items.map(\.kind).sorted() == ["call", "sms"])
            #expect(items.contains { $0.textBody == "Your CaseTalk verification code is 246810. Do not share it." })
            #expect(items.contains { $0.textBody.contains("1. 3. 5. 7. 9. 0.") })
        }
    }
}
