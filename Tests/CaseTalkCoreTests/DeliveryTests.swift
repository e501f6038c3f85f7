import CaseTalkCore
import Foundation
import Testing

@Suite struct InviteFormTests {
    @Test func matchingValidAddressesPass() throws {
        #expect(try InviteForm.validate(email: "Pat@Example.com", confirmation: " pat@example.com ").get().value == "pat@example.com")
    }

    @Test func theErrorSaysWhichFieldIsWrong() {
        func fields(_ email: String?, _ confirm: String?) -> [String: String] {
            guard case .failure(let errors) = InviteForm.validate(email: email, confirmation: confirm) else { return [:] }
            return Dictionary(errors.messages.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        }
        #expect(fields("pat@example.com", "pat@example.org") == ["confirm_email": "The two email addresses do not match."])
        #expect(fields("not-an-address", "not-an-address")["email"] == "Enter a valid email address, like name@example.com.")
        #expect(fields("pat@example.com", "")["confirm_email"] == "Enter the email address again to confirm it.")
        #expect(fields("", "")["email"] == "Enter an email address.")
    }
}

@Suite struct SchedulingTests {
    @Test func retriesBackOffAndLevelOff() {
        #expect((1...5).map(RetrySchedule.delay(afterAttempt:)) == [30, 60, 120, 120, 120])
    }

    @Test func remindersOnDayThreeAndTen() {
        let sent = Date(timeIntervalSince1970: 0)
        let day = 24.0 * 3600
        #expect(!InvitationPolicy.reminderDue(sentAt: sent, remindersSent: 0, now: sent.addingTimeInterval(3 * day - 1)))
        #expect(InvitationPolicy.reminderDue(sentAt: sent, remindersSent: 0, now: sent.addingTimeInterval(3 * day)))
        #expect(!InvitationPolicy.reminderDue(sentAt: sent, remindersSent: 1, now: sent.addingTimeInterval(9 * day)))
        #expect(InvitationPolicy.reminderDue(sentAt: sent, remindersSent: 1, now: sent.addingTimeInterval(10 * day)))
        #expect(!InvitationPolicy.reminderDue(sentAt: sent, remindersSent: 2, now: sent.addingTimeInterval(13 * day)))
    }
}

@Suite struct SMTPSettingsTests {
    @Test func readsEverythingFromTheURL() throws {
        let s = try SMTPSettings(url: "smtp://mailer:p%40ss%3Aword@mail.example:2525?tls=required&ca=/etc/ca.pem")
        #expect(s.host == "mail.example")
        #expect(s.port == 2525)
        #expect(s.security == .startTLSRequired)
        #expect(s.username == "mailer")
        #expect(s.password == "p@ss:word")
        #expect(s.caFile == "/etc/ca.pem")
    }

    @Test func defaults() throws {
        let plain = try SMTPSettings(url: "smtp://mail.example")
        #expect(plain.port == 587)
        #expect(plain.security == .startTLSIfOffered)
        #expect(plain.username == nil)
        let implicit = try SMTPSettings(url: "smtps://mail.example")
        #expect(implicit.port == 465)
        #expect(implicit.security == .implicitTLS)
    }

    /// Review M6: in production STARTTLS is required (a stripped offer is not followed in plain
    /// text), and no TLS at all only for a relay on this machine.
    @Test func productionRequiresTLSExceptToARelayOnThisMachine() throws {
        #expect(try SMTPSettings(url: "smtp://mail.example").forProduction().security == .startTLSRequired)
        #expect(try SMTPSettings(url: "smtps://mail.example").forProduction().security == .implicitTLS)
        #expect(try SMTPSettings(url: "smtp://mail.example").security == .startTLSIfOffered, "development keeps the URL's word")
        for relay in ["127.0.0.1", "localhost", "[::1]"] {
            #expect(try SMTPSettings(url: "smtp://\(relay):25?tls=off").forProduction().security == .plain, "\(relay)")
        }
        for elsewhere in ["mail.example", "127.mail.example", "10.0.0.5"] {
            #expect(throws: ValidationError.self, "\(elsewhere)") { try SMTPSettings(url: "smtp://\(elsewhere):25?tls=off").forProduction() }
        }
        #expect(throws: ValidationError.self) { try SMTPSettings(url: "smtp://mail.example?tls=maybe") }
    }

    @Test(arguments: ["http://mail.example", "mail.example:25", "smtp://", ""])
    func rejectsOtherURLs(url: String) {
        #expect(throws: ValidationError.self) { try SMTPSettings(url: url) }
    }
}

@Suite struct SMTPProtocolTests {
    @Test func multiLineRepliesAreCollected() throws {
        var parser = SMTPReplyParser()
        #expect(try parser.feed("250-mail.example greets you") == nil)
        #expect(try parser.feed("250-STARTTLS") == nil)
        let reply = try #require(try parser.feed("250 AUTH PLAIN LOGIN"))
        #expect(reply.code == 250)
        #expect(reply.extensions == ["STARTTLS", "AUTH PLAIN LOGIN"])
        #expect(try parser.feed("354")?.code == 354)
    }

    @Test func malformedAndMixedRepliesAreErrors() {
        var parser = SMTPReplyParser()
        #expect(throws: SMTPReplyParser.ParseError.malformed) { try parser.feed("hello") }
        var mixed = SMTPReplyParser()
        _ = try? mixed.feed("250-one")
        #expect(throws: SMTPReplyParser.ParseError.mixedCodes) { try mixed.feed("251 two") }
    }

    @Test func dotStuffing() {
        #expect(SMTPText.dotStuffed("a\r\n.b\r\n..c\r\n.") == "a\r\n..b\r\n...c\r\n..")
    }
}

@Suite struct EmailMessageTests {
    let message = EmailMessage(from: "CaseTalk <no-reply@casetalk.example>", to: "pat@example.com",
                               subject: "Zoë's practice invited you\r\nBcc: thief@evil.example",
                               text: "Hello,\nline two\n.starts with a dot", html: "<p>Hello</p>")

    @Test func headersCannotBeInjectedAndNonASCIIIsEncoded() {
        let rendered = message.rendered(date: Date(timeIntervalSince1970: 0), messageID: "abc@casetalk")
        let headers = rendered.components(separatedBy: "\r\n\r\n")[0]
        #expect(!headers.contains("\r\nBcc:"))
        #expect(headers.contains("Subject: =?UTF-8?B?"))
        #expect(headers.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
        #expect(headers.contains("Message-ID: <abc@casetalk>"))
        #expect(headers.contains("Content-Type: multipart/alternative;"))
    }

    @Test func bothPartsCarryTheText() throws {
        let rendered = message.rendered(date: Date(), messageID: "m1@casetalk")
        let parts = rendered.components(separatedBy: "Content-Transfer-Encoding: base64\r\n\r\n").dropFirst()
        #expect(parts.count == 2)
        let decoded = parts.map { part -> String in
            let base64 = part.components(separatedBy: "\r\n\r\n")[0].replacingOccurrences(of: "\r\n", with: "")
            return String(decoding: Data(base64Encoded: base64) ?? Data(), as: UTF8.self)
        }
        #expect(decoded[0] == "Hello,\r\nline two\r\n.starts with a dot")
        #expect(decoded[1] == "<p>Hello</p>")
        #expect(rendered.split(separator: "\r\n").allSatisfy { $0.count <= 998 })
    }

    @Test func bareAddresses() {
        #expect(EmailMessage.address(of: "CaseTalk <no-reply@casetalk.example>") == "no-reply@casetalk.example")
        #expect(EmailMessage.address(of: " pat@example.com ") == "pat@example.com")
    }
}

@Suite struct SealerTests {
    let sealer = Sealer(key: Array(repeating: 7, count: 32))

    @Test func roundTripAndNoPlaintext() throws {
        let sealed = try sealer.seal(Array("the link token".utf8), context: "outbox:1")
        #expect(sealed.hasPrefix(sealer.currentKeyID + ":") && sealer.currentKeyID.count == 13)
        #expect(!sealed.contains("token"))
        #expect(try sealer.open(sealed, context: "outbox:1") == Array("the link token".utf8))
    }

    @Test func anotherRowAnotherKeyOrATamperedValueDoNotOpen() throws {
        let sealed = try sealer.seal(Array("secret".utf8), context: "outbox:1")
        #expect(throws: (any Error).self) { try sealer.open(sealed, context: "outbox:2") }
        #expect(throws: (any Error).self) { try Sealer(key: Array(repeating: 8, count: 32)).open(sealed, context: "outbox:1") }
        var bytes = Array(Data(base64Encoded: String(sealed.split(separator: ":")[1]))!)
        bytes[bytes.count / 2] ^= 1
        #expect(throws: (any Error).self) {
            try sealer.open(sealer.currentKeyID + ":" + Data(bytes).base64EncodedString(), context: "outbox:1")
        }
    }

    /// A key ring: values sealed under a previous key open while it is kept, and not once it is
    /// dropped; new values are always sealed under the current key. The id names the key without
    /// revealing it.
    @Test func previousKeysStillOpen() throws {
        let old = Array(repeating: UInt8(7), count: 32), new = Array(repeating: UInt8(9), count: 32)
        let sealedOld = try Sealer(key: old).seal(Array("before".utf8), context: "c")
        let ring = Sealer(key: new, previous: [old])
        #expect(try ring.open(sealedOld, context: "c") == Array("before".utf8))
        #expect(!ring.isCurrent(sealedOld))
        let sealedNew = try ring.seal(Array("after".utf8), context: "c")
        #expect(ring.isCurrent(sealedNew) && sealedNew.hasPrefix(Sealer.keyID(of: new) + ":"))
        #expect(throws: Sealer.SealError.self) { try Sealer(key: new).open(sealedOld, context: "c") }
        #expect(Sealer.keyID(of: old) != Sealer.keyID(of: new))
        // A legacy `k1` value opens under whichever key of the ring sealed it.
        let legacy = "k1:" + sealedOld.split(separator: ":")[1]
        #expect(try ring.open(legacy, context: "c") == Array("before".utf8))
        #expect(throws: (any Error).self) { try Sealer(key: new).open(legacy, context: "c") }
    }
}
