@testable import CaseTalkCore
import Foundation
import Testing

@Suite struct TOTPTests {
    /// RFC 6238 Appendix B's SHA-1 key ("12345678901234567890"); its 8-digit values end in these six.
    let key = Array("12345678901234567890".utf8)

    @Test func rfc6238TestVectors() {
        let vectors: [(TimeInterval, String)] = [
            (59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"),
            (1_234_567_890, "005924"), (2_000_000_000, "279037"), (20_000_000_000, "353130"),
        ]
        for (time, code) in vectors {
            #expect(TOTP.code(key: key, step: TOTP.step(at: Date(timeIntervalSince1970: time))) == code, "T=\(time)")
        }
    }

    @Test func oneStepOfDriftEitherWayAndNoMore() {
        let now = Date(timeIntervalSince1970: 1_234_567_890)
        let step = TOTP.step(at: now)
        for offset in -1...1 {
            #expect(TOTP.matchingStep(TOTP.code(key: key, step: step + Int64(offset)), key: key, at: now, after: nil) == step + Int64(offset))
        }
        #expect(TOTP.matchingStep(TOTP.code(key: key, step: step - 2), key: key, at: now, after: nil) == nil)
        #expect(TOTP.matchingStep(TOTP.code(key: key, step: step + 2), key: key, at: now, after: nil) == nil)
    }

    @Test func aUsedCodeOrAnOlderOneIsRefused() {
        let now = Date(timeIntervalSince1970: 1_234_567_890)
        let step = TOTP.step(at: now)
        let code = TOTP.code(key: key, step: step)
        #expect(TOTP.matchingStep(code, key: key, at: now, after: step - 1) == step)
        #expect(TOTP.matchingStep(code, key: key, at: now, after: step) == nil, "the same code again")
        #expect(TOTP.matchingStep(TOTP.code(key: key, step: step - 1), key: key, at: now, after: step) == nil, "an older one")
        #expect(TOTP.matchingStep(TOTP.code(key: key, step: step + 1), key: key, at: now, after: step) == step + 1, "the next one")
    }

    @Test func typedCodesAreSixDigitsAfterSpaces() {
        #expect(TOTP.normalized(" 287 082 ") == "287082")
        #expect(TOTP.normalized("28708") == nil)
        #expect(TOTP.normalized("2870823") == nil)
        #expect(TOTP.normalized("28708a") == nil)
        #expect(TOTP.normalized("２８７０８２") == nil, "full-width digits are not digits here")
    }

    @Test func base32RoundTripsAndMatchesRFC4648() {
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")
        #expect(Base32.encode(Array("f".utf8)) == "MY")
        #expect(Base32.decode("mzxw 6ytb oi") == Array("foobar".utf8))
        #expect(Base32.decode("MZ1W") == nil)
        let key = TOTP.newKey()
        #expect(key.count == 20)
        #expect(Base32.decode(Base32.encode(key)) == key)
        #expect(TOTP.grouped(key).split(separator: " ").count == 8)
    }

    @Test func provisioningURINamesTheIssuerAndAccount() {
        let uri = TOTP.provisioningURI(key: Array("foobar".utf8), account: "maya+x@riverside.example")
        #expect(uri == "otpauth://totp/CaseTalk:maya%2Bx@riverside.example?secret=MZXW6YTBOI&issuer=CaseTalk")
    }
}

@Suite struct RecoveryCodeTests {
    @Test func tenDistinctCodesOfEightyBits() {
        let codes = RecoveryCodes.generate()
        #expect(codes.count == 10)
        #expect(Set(codes).count == 10)
        for code in codes {
            #expect(code.utf8.count == 19 && code.split(separator: "-").count == 4)
            #expect(RecoveryCodes.hash(code) != nil)
        }
    }

    @Test func typingDoesNotMatterButLettersDo() throws {
        let code = "abcd-efgh-ijkl-mnop"
        let hash = try #require(RecoveryCodes.hash(code))
        #expect(RecoveryCodes.hash("ABCD EFGH IJKL MNOP") == hash)
        #expect(RecoveryCodes.hash("abcdefghijklmnop") == hash)
        #expect(RecoveryCodes.hash("abcd-efgh-ijkl-mnoq") != hash)
        #expect(RecoveryCodes.hash("abcd-efgh-ijkl") == nil)
        #expect(RecoveryCodes.hash("abcd-efgh-ijkl-mno1") == nil, "1 is not base32")
    }
}

@Suite struct QRCodeTests {
    /// Facts of ISO/IEC 18004 (Annex D): the version information of versions 7 to 19, and level M
    /// with mask 0 has format information 101010000010010.
    @Test func versionAndFormatInformation() {
        let table = [0x07C94, 0x085BC, 0x09A99, 0x0A4D3, 0x0BBF6, 0x0C762, 0x0D847, 0x0E60D, 0x0F928, 0x10B78,
                     0x1145D, 0x12A17, 0x13532]
        for (index, bits) in table.enumerated() { #expect(QRCode.versionBits(7 + index) == bits) }
        #expect(QRCode.formatBits(mask: 0) == 0b101010000010010)
    }

    /// The worked example of a 1-M symbol for "HELLO WORLD": its 16 data codewords give these
    /// 10 error correction codewords.
    @Test func reedSolomonOfTheWorkedExample() {
        let data: [UInt8] = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17]
        #expect(ReedSolomon.remainder(data, ReedSolomon.generator(degree: 10)) == [196, 35, 39, 119, 235, 215, 231, 226, 93, 23])
    }

    @Test func sizeGrowsWithTheTextAndHasFindersInThreeCorners() throws {
        #expect(try QRCode("hi").size == 21)
        let uri = TOTP.provisioningURI(key: TOTP.newKey(), account: String(repeating: "a", count: 64) + "@riverside.example")
        let code = try QRCode(uri)
        #expect(code.size > 21)
        for (x, y) in [(0, 0), (code.size - 7, 0), (0, code.size - 7)] {
            #expect(code.isDark(x: x, y: y) && code.isDark(x: x + 6, y: y + 6) && !code.isDark(x: x + 1, y: y + 1))
        }
        #expect(throws: QRCode.Failure.tooLong) { try QRCode(String(repeating: "x", count: 1000)) }
        #expect(code.svgPath.hasPrefix("M4 4h1v1h-1z") && code.sideWithQuietZone == code.size + 8)
    }
}
