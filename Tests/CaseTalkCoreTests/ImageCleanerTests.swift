import CaseTalkCore
import Testing

/// Photos carrying what a phone writes into them: position, device, owner, XMP, comments, and
/// a script appended after the image's end. Built byte by byte, so each field is where EXIF 2.3,
/// ISO 15948 and the WebP container put it.
enum Tagged {
    typealias H = Headers
    struct Entry { let tag: Int; let type: Int; let count: Int; let data: [UInt8] }
    static func ascii(_ tag: Int, _ text: String) -> Entry { Entry(tag: tag, type: 2, count: text.utf8.count + 1, data: H.ascii(text) + [0]) }

    /// A big-endian TIFF block: IFD0 (with pointers to the EXIF and GPS directories), then those.
    static func tiff(_ ifd0: [Entry], exif: [Entry], gps: [Entry]) -> [UInt8] {
        func size(_ entries: [Entry]) -> Int {
            2 + 12 * entries.count + 4 + entries.reduce(0) { $0 + ($1.data.count > 4 ? ($1.data.count + 1) & ~1 : 0) }
        }
        func write(_ entries: [Entry], at base: Int) -> [UInt8] {
            var head = H.be16(entries.count), data: [UInt8] = []
            let dataAt = base + 2 + 12 * entries.count + 4
            for e in entries {
                head += H.be16(e.tag) + H.be16(e.type) + H.be32(e.count)
                if e.data.count <= 4 {
                    head += e.data + Array(repeating: 0, count: 4 - e.data.count)
                } else {
                    head += H.be32(dataAt + data.count)
                    data += e.data + (e.data.count % 2 == 1 ? [0] : [])
                }
            }
            return head + H.be32(0) + data
        }
        let pointers = { (exifAt: Int, gpsAt: Int) in
            [Entry(tag: 0x8769, type: 4, count: 1, data: H.be32(exifAt)), Entry(tag: 0x8825, type: 4, count: 1, data: H.be32(gpsAt))]
        }
        let exifAt = 8 + size(ifd0 + pointers(0, 0)), gpsAt = exifAt + size(exif)
        return [0x4D, 0x4D, 0x00, 0x2A] + H.be32(8) + write(ifd0 + pointers(exifAt, gpsAt), at: 8) + write(exif, at: exifAt)
            + write(gps, at: gpsAt)
    }

    /// What a phone writes: maker, model, orientation, owner; the capture time; a position.
    static func phoneEXIF(orientation: Int = 6, taken: String = "2026:11:30 14:05:09") -> [UInt8] {
        tiff([ascii(0x010F, "PhoneMaker"), ascii(0x0110, "SecretModel 15"),
              Entry(tag: 0x0112, type: 3, count: 1, data: H.be16(orientation)), ascii(0x013B, "Jane Owner")],
             exif: [ascii(0x9003, taken)],
             gps: [ascii(0x0001, "N"), Entry(tag: 0x001C, type: 7, count: 12, data: H.ascii("GPS-POSITION"))])
    }

    static let secrets = ["PhoneMaker", "SecretModel", "Jane Owner", "GPS-POSITION", "xmpmeta", "a private comment", "<script", "Photoshop"]

    static let trailer = H.ascii("<html><script>alert(document.cookie)</script></html>")

    static func segment(_ marker: UInt8, _ content: [UInt8]) -> [UInt8] { [0xFF, marker] + H.be16(content.count + 2) + content }

    /// The parts that draw the image: quantization table, frame header, Huffman table, scan header.
    static let jpegTables = segment(0xDB, [0] + Array(repeating: 1, count: 64))
        + segment(0xC0, [8] + H.be16(300) + H.be16(400) + [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
        + segment(0xC4, [0] + Array(repeating: 0, count: 16) + [])
    /// Entropy-coded data with a stuffed 0xFF, a restart marker, and bytes that look like text.
    static let scan = segment(0xDA, [3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0]) + [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0x78]

    static func phoneJPEG() -> [UInt8] {
        [0xFF, 0xD8] + segment(0xE0, H.ascii("JFIF\0") + [1, 1, 0] + H.be16(72) + H.be16(72) + [0, 0])
            + segment(0xE1, H.ascii("Exif\0\0") + phoneEXIF())
            + segment(0xE1, H.ascii("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPS</x:xmpmeta>"))
            + segment(0xE2, H.ascii("ICC_PROFILE\0") + [1, 1] + Array(repeating: 9, count: 40))
            + segment(0xED, H.ascii("Photoshop 3.0\0") + H.ascii("8BIM owner"))
            + segment(0xFE, H.ascii("a private comment"))
            + jpegTables + scan + [0xFF, 0xD9] + trailer
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] { H.be32(data.count) + H.ascii(type) + data + [0xAA, 0xBB, 0xCC, 0xDD] }

    static func phonePNG() -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", H.be32(400) + H.be32(300) + [8, 6, 0, 0, 0])
            + chunk("tEXt", H.ascii("Author\0Jane Owner"))
            + chunk("iTXt", H.ascii("XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>GPS</x:xmpmeta>"))
            + chunk("eXIf", phoneEXIF())
            + chunk("pHYs", H.be32(2835) + H.be32(2835) + [1])
            + chunk("IDAT", Array(repeating: 0x5A, count: 300))
            + chunk("tIME", [0x07, 0xEA, 11, 30, 14, 5, 9])
            + chunk("IEND", []) + trailer
    }

    static func riffChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        H.ascii(type) + H.le32(data.count) + data + (data.count % 2 == 1 ? [0] : [])
    }

    static func phoneWebP() -> [UInt8] {
        let body = H.ascii("WEBP")
            + riffChunk("VP8X", [0x10 | 0x08 | 0x04, 0, 0, 0] + [0x8F, 0x01, 0x00] + [0x2B, 0x01, 0x00])
            + riffChunk("VP8L", [0x2F] + Array(repeating: 0x33, count: 101))
            + riffChunk("EXIF", H.ascii("Exif\0\0") + phoneEXIF())
            + riffChunk("XMP ", H.ascii("<x:xmpmeta>GPS</x:xmpmeta>"))
        return H.ascii("RIFF") + H.le32(body.count) + body + trailer
    }
}

@Suite struct ImageCleanerTests {
    func clean(_ bytes: [UInt8], _ type: FileType, piece: Int = .max) throws -> (bytes: [UInt8], cleaner: ImageCleaner) {
        var cleaner = ImageCleaner(type: type)
        var out: [UInt8] = []
        var at = 0
        while at < bytes.count {
            let end = min(bytes.count, at + piece)
            out += try cleaner.feed(bytes[at..<end])
            at = end
        }
        out += try cleaner.finish()
        return (out, cleaner)
    }

    func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        return (0...(haystack.count - n.count)).contains { Array(haystack[$0..<($0 + n.count)]) == n }
    }

    @Test func aPhonesJPEGLosesItsMetadataAndKeepsItsPixelsTimeAndOrientation() throws {
        let photo = Tagged.phoneJPEG()
        for secret in Tagged.secrets { #expect(contains(photo, secret), "the fixture carries \(secret)") }
        let (out, cleaner) = try clean(photo, .jpeg)
        for secret in Tagged.secrets { #expect(!contains(out, secret), "\(secret) removed") }
        #expect(cleaner.takenAt == CaptureTime(exif: "2026:11:30 14:05:09"))
        #expect(cleaner.orientation == 6)
        // Exactly: the start, JFIF, an EXIF holding only the orientation, the colour profile,
        // the tables, the scan as it was, the end; nothing after it.
        let icc = Tagged.segment(0xE2, Headers.ascii("ICC_PROFILE\0") + [1, 1] + Array(repeating: 9, count: 40))
        let expected = [0xFF, 0xD8] + Tagged.segment(0xE0, Headers.ascii("JFIF\0") + [1, 1, 0] + Headers.be16(72) + Headers.be16(72) + [0, 0])
            + ImageCleaner.orientationSegment(6) + icc + Tagged.jpegTables + Tagged.scan + [0xFF, 0xD9]
        #expect(out == expected)
        if case .size(let size) = ImageHeader.pixelSize(of: .jpeg, in: out, complete: true) {
            #expect(size == PixelSize(width: 400, height: 300))
        } else { Issue.record("the cleaned JPEG has no frame header") }
    }

    @Test func theSameBytesComeOutHoweverTheInputIsCut() throws {
        for (bytes, type) in [(Tagged.phoneJPEG(), FileType.jpeg), (Tagged.phonePNG(), .png), (Tagged.phoneWebP(), .webp)] {
            let whole = try clean(bytes, type).bytes
            for piece in [1, 2, 3, 7, 64, 1000] {
                #expect(try clean(bytes, type, piece: piece).bytes == whole, "\(type) in pieces of \(piece)")
            }
        }
    }

    @Test func anUprightPhotoGetsNoEXIFAtAll() throws {
        let photo = [0xFF, 0xD8] + Tagged.segment(0xE1, Headers.ascii("Exif\0\0") + Tagged.phoneEXIF(orientation: 1))
            + Tagged.jpegTables + Tagged.scan + [0xFF, 0xD9]
        let (out, cleaner) = try clean(photo, .jpeg)
        #expect(out == [0xFF, 0xD8] + Tagged.jpegTables + Tagged.scan + [0xFF, 0xD9])
        #expect(cleaner.orientation == 1 && cleaner.takenAt != nil)
    }

    @Test func aPNGKeepsWhatDrawsItAndLosesItsTextEXIFAndTrailer() throws {
        let photo = Tagged.phonePNG()
        for secret in ["Jane Owner", "xmpmeta", "GPS-POSITION", "<script"] { #expect(contains(photo, secret)) }
        let (out, cleaner) = try clean(photo, .png)
        let expected = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + Tagged.chunk("IHDR", Headers.be32(400) + Headers.be32(300) + [8, 6, 0, 0, 0])
            + Tagged.chunk("pHYs", Headers.be32(2835) + Headers.be32(2835) + [1])
            + Tagged.chunk("IDAT", Array(repeating: 0x5A, count: 300)) + Tagged.chunk("IEND", [])
        #expect(out == expected)
        #expect(cleaner.takenAt == CaptureTime(exif: "2026:11:30 14:05:09"))
    }

    @Test func aWebPsMetadataIsBlankedInPlaceAndItsFlagsCleared() throws {
        let photo = Tagged.phoneWebP()
        let (out, cleaner) = try clean(photo, .webp)
        for secret in Tagged.secrets + ["GPS"] { #expect(!contains(out, secret), "\(secret) removed") }
        #expect(out.count == photo.count - Tagged.trailer.count, "the container keeps its size; what follows it goes")
        #expect(Array(out[0..<4]) == Headers.ascii("RIFF") && Array(out[4..<8]) == Array(photo[4..<8]))
        #expect(out[20] == 0x10, "alpha stays; EXIF and XMP flags cleared")
        #expect(!contains(out, "EXIF") && !contains(out, "XMP ") && contains(out, "JUNK"))
        #expect(contains(out, "VP8L"))
        #expect(cleaner.takenAt == CaptureTime(exif: "2026:11:30 14:05:09"))
    }

    @Test func cutShortOrNotTheTypeIsDamaged() throws {
        let jpeg = Tagged.phoneJPEG()
        let withoutEnd = Array(jpeg.prefix(jpeg.count - Tagged.trailer.count - 2))
        #expect(throws: ImageCleanerError.damaged) { try clean(withoutEnd, .jpeg) }
        #expect(throws: ImageCleanerError.damaged) { try clean(Array(jpeg.prefix(30)), .jpeg) }
        #expect(throws: ImageCleanerError.damaged) { try clean(Headers.ascii("<html>not a photo</html>"), .jpeg) }
        #expect(throws: ImageCleanerError.damaged) { try clean([], .jpeg) }
        let png = Tagged.phonePNG()
        #expect(throws: ImageCleanerError.damaged) { try clean(Array(png.prefix(200)), .png) }
        let webp = Tagged.phoneWebP()
        #expect(throws: ImageCleanerError.damaged) { try clean(Array(webp.prefix(60)), .webp) }
        #expect(throws: ImageCleanerError.damaged) { try clean(Headers.png(width: 1, height: 1), .webp) }
    }

    @Test func captureTimesAreReadOnlyWhenTheyAreDates() {
        #expect(CaptureTime(exif: "2026:11:30 14:05:09").map { [$0.year, $0.month, $0.day, $0.hour, $0.minute, $0.second] }
                == [2026, 11, 30, 14, 5, 9])
        #expect(CaptureTime(exif: "2026:01:02 03:04:05")?.stored == "2026-01-02 03:04:05")
        for unset in ["0000:00:00 00:00:00", "    :  :     :  :  ", "", "2026:13:01 00:00:00", "2026-11-30T14:05:09", "2026:11:30 25:00:00"] {
            #expect(CaptureTime(exif: unset) == nil, "\(unset)")
        }
    }
}
