@testable import CaseTalkApp
import CaseTalkCore
import Foundation
import NIOCore
import Testing

/// A message form with files, as a browser sends it, read in pieces of any size.
@Suite struct UploadReaderTests {
    static let boundary = "----CaseTalkFormBoundary7MA4YWxkTrZu0gW"

    static func png(_ payload: [UInt8]) -> [UInt8] {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let n = data.count
            return [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + Array(type.utf8) + data + [1, 2, 3, 4]
        }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", [0, 0, 1, 0x90, 0, 0, 1, 0x2C, 8, 6, 0, 0, 0])
            + chunk("tEXt", Array("Author\0Jane Owner".utf8)) + chunk("IDAT", payload) + chunk("IEND", [])
    }

    enum Part { case field(String, String); case file(String, String, [UInt8]) }

    static func body(_ parts: [Part]) -> [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            out += Array("--\(boundary)\r\n".utf8)
            switch part {
            case .field(let name, let value):
                out += Array("Content-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
            case .file(let name, let filename, let bytes):
                out += Array("Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
                out += bytes + Array("\r\n".utf8)
            }
        }
        return out + Array("--\(boundary)--\r\n".utf8)
    }

    func read(_ body: [UInt8], limits: AttachmentLimits = .patient, piece: Int) throws -> [UploadReader.Event] {
        var reader = UploadReader(boundary: Self.boundary, limits: limits)
        var events: [UploadReader.Event] = []
        var at = 0
        while at < body.count {
            let end = min(body.count, at + piece)
            events += try reader.feed(ByteBuffer(bytes: body[at..<end]))
            at = end
        }
        try reader.finish()
        return events
    }

    @Test func fieldsAndFilesComeOutAsTheyArriveAndEachFileSealed() throws {
        let photo = Self.png(Array(repeating: 0x5A, count: 150_000))
        let pdf = Array("%PDF-1.7\n".utf8) + Array(repeating: 0x41, count: 70_000)
        let form = Self.body([.field("_csrf", "token"), .field("body", "Here are the photos.\r\nSecond line"),
                              .file("files", "../../Users/jane/IMG\u{202E}gnp.0001.png", photo), .file("files", "", []),
                              .file("files", "treatment plan.pdf", pdf)])
        for piece in [1, 100, 4096, 65_536, 1 << 20] {
            let events = try read(form, piece: piece)
            var fields: [String: String] = [:], names: [Int: String] = [:], keys: [Int: (UUID, [UInt8])] = [:]
            var sealed: [Int: [UInt8]] = [:], stored: [Int: AttachmentPipeline.Stored] = [:]
            for event in events {
                switch event {
                case .field(let name, let value): fields[name] = value
                case .fileStarted(let index, let id, let key, let name): names[index] = name; keys[index] = (id, key)
                case .sealed(let index, let bytes): sealed[index, default: []] += bytes
                case .fileStored(let index, let s): stored[index] = s
                case .fileRefused, .tooManyFiles: Issue.record("\(event)")
                }
            }
            #expect(fields == ["_csrf": "token", "body": "Here are the photos.\r\nSecond line"], "pieces of \(piece)")
            #expect(names == [0: "IMGgnp.0001.png", 1: "treatment plan.pdf"], "the empty file input is passed over")
            #expect(stored[0]?.type == .png && stored[0]?.pixelSize == PixelSize(width: 400, height: 300))
            #expect(stored[1]?.type == .pdf && stored[1]?.storedBytes == pdf.count)
            for index in [0, 1] {
                let (id, key) = try #require(keys[index])
                var reader = SegmentedSeal.Reader(key: key, fileID: id.uuidString, variant: "original")
                let plain = try reader.feed(sealed[index] ?? []) + reader.finish()
                #expect(plain.count == stored[index]?.storedBytes)
                if index == 1 { #expect(plain == pdf) }
                if index == 0 { #expect(!String(decoding: plain, as: UTF8.self).contains("Jane Owner"), "metadata removed") }
            }
        }
    }

    @Test func refusalsAreReportedPerFileAndTheFormGoesOn() throws {
        let html = Array("<html><script>alert(1)</script></html>".utf8)
        let events = try read(Self.body([.file("files", "photo.jpg", html), .field("body", "after")]), piece: 512)
        #expect(events.contains(.fileRefused(index: 0, problem: .wrongType(staff: false))))
        #expect(events.contains(.field(name: "body", value: "after")))
        #expect(!events.contains { if case .fileStored = $0 { return true }; return false })
    }

    @Test func moreFilesThanAMessageTakesAreRefusedOnce() throws {
        let parts = (0..<12).map { Part.file("files", "p\($0).png", Self.png([1, 2, 3])) }
        let events = try read(Self.body(parts), piece: 4096)
        #expect(events.filter { $0 == .tooManyFiles(limit: 10) }.count == 1)
        #expect(events.filter { if case .fileStarted = $0 { return true }; return false }.count == 10)
    }

    @Test func aBodyCutShortOrNotMultipartIsMalformed() throws {
        let form = Self.body([.field("body", "text"), .file("files", "a.png", Self.png(Array(repeating: 7, count: 5000)))])
        #expect(throws: UploadReader.FormError.malformed) { try read(Array(form.prefix(form.count - 300)), piece: 1000) }
        let long = Self.body([.field("body", String(repeating: "x", count: UploadReader.maxFieldBytes + 1))])
        #expect(throws: UploadReader.FormError.malformed) { try read(long, piece: 8192) }
        let many = Self.body((0...UploadReader.maxFields).map { Part.field("f\($0)", "v") })
        #expect(throws: UploadReader.FormError.malformed) { try read(many, piece: 8192) }
    }

    @Test func dispositionParameters() {
        #expect(UploadReader.parameters("form-data; name=\"files\"; filename=\"a %22b%22.jpg\"") == ["name": "files", "filename": "a %22b%22.jpg"])
        #expect(UploadReader.parameters("form-data; name=body") == ["name": "body"])
        #expect(UploadReader.parameters("form-data; name=\"x\"; filename=\"\"") == ["name": "x", "filename": ""])
    }
}
