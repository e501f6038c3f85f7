import CaseTalkCore
import Testing

/// Headers built byte by byte as each format's specification lays them out, so each reading is
/// checked against a size written in a known place.
enum Headers {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    static func le32(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24 & 0xFF)] }
    static func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// SOI, a JFIF APP0, an APP1 of `appBytes` (where EXIF and its GPS live), fill bytes, then
    /// the baseline frame header.
    static func jpeg(width: Int, height: Int, appBytes: Int = 2000) -> [UInt8] {
        var b: [UInt8] = [0xFF, 0xD8]
        b += [0xFF, 0xE0] + be16(16) + ascii("JFIF") + [0, 1, 1, 0] + be16(1) + be16(1) + [0, 0]
        b += [0xFF, 0xE1] + be16(appBytes + 2) + Array(repeating: 0x41, count: appBytes)
        b += [0xFF, 0xFF, 0xC0] + be16(17) + [8] + be16(height) + be16(width) + [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]
        b += [0xFF, 0xDA] + be16(12) + Array(repeating: 0, count: 10)
        return b
    }

    static func png(width: Int, height: Int) -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + be32(13) + ascii("IHDR") + be32(width) + be32(height) + [8, 6, 0, 0, 0]
            + [0, 0, 0, 0]
    }

    static func webp(_ chunk: String, payload: [UInt8]) -> [UInt8] {
        ascii("RIFF") + le32(4 + 8 + payload.count) + ascii("WEBP") + ascii(chunk) + le32(payload.count) + payload
    }

    static func tiff(width: Int, height: Int, bigEndian: Bool) -> [UInt8] {
        let u16 = bigEndian ? be16 : le16, u32 = bigEndian ? be32 : le32
        var b: [UInt8] = (bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]) + u16(42) + u32(8)
        b += u16(3)
        b += u16(254) + u16(4) + u32(1) + u32(0)              // NewSubfileType, skipped
        b += u16(256) + u16(3) + u32(1) + u16(width) + [0, 0]  // ImageWidth, SHORT
        b += u16(257) + u16(4) + u32(1) + u32(height)         // ImageLength, LONG
        return b + u32(0)
    }

    static func bmp(width: Int, height: Int) -> [UInt8] {
        ascii("BM") + le32(54 + 4) + [0, 0, 0, 0] + le32(54) + le32(40) + le32(width)
            + le32(Int(UInt32(bitPattern: Int32(height)))) + le16(1) + le16(24) + Array(repeating: 0, count: 28)
    }

    static func box(_ type: String, _ content: [UInt8]) -> [UInt8] { be32(8 + content.count) + ascii(type) + content }

    /// ftyp, then meta (a full box) with a handler and the properties: `sizes` as `ispe` boxes.
    static func heic(_ sizes: [(Int, Int)], brand: String = "heic") -> [UInt8] {
        let ispe = sizes.map { box("ispe", [0, 0, 0, 0] + be32($0.0) + be32($0.1)) }.reduce([], +)
        let meta = box("meta", [0, 0, 0, 0] + box("hdlr", Array(repeating: 0, count: 24)) + box("iprp", box("ipco", ispe)))
        return box("ftyp", ascii(brand) + be32(0) + ascii("mif1heic")) + meta + box("mdat", Array(repeating: 7, count: 64))
    }
}

@Suite struct FileTypeTests {
    @Test func typesAreDecidedByTheFirstBytes() {
        #expect(FileType.detect(Headers.jpeg(width: 10, height: 10)) == .jpeg)
        #expect(FileType.detect(Headers.png(width: 10, height: 10)) == .png)
        #expect(FileType.detect(Headers.webp("VP8X", payload: Array(repeating: 0, count: 10))) == .webp)
        #expect(FileType.detect(Headers.heic([(1, 1)])) == .heic)
        #expect(FileType.detect(Headers.heic([(1, 1)], brand: "mif1")) == .heic)
        #expect(FileType.detect(Headers.ascii("%PDF-1.7\n%âãÏÓ\n")) == .pdf)
        #expect(FileType.detect(Headers.tiff(width: 1, height: 1, bigEndian: false)) == .tiff)
        #expect(FileType.detect(Headers.tiff(width: 1, height: 1, bigEndian: true)) == .tiff)
        #expect(FileType.detect(Headers.bmp(width: 1, height: 1)) == .bmp)
        #expect(FileType.detect(Array(repeating: 0, count: 128) + Headers.ascii("DICM") + [2, 0]) == .dicom)
    }

    @Test func everythingElseIsRefusedWhateverItIsCalled() {
        let refused: [(String, [UInt8])] = [
            ("HTML", Headers.ascii("<!DOCTYPE html><html><script>alert(1)</script>")),
            ("SVG", Headers.ascii("<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>")),
            ("SVG without a declaration", Headers.ascii("<svg onload=alert(1)>")),
            ("ZIP (and so docx, xlsx)", [0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 40)),
            ("legacy Office", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + Array(repeating: 0, count: 40)),
            ("Windows executable", Headers.ascii("MZ") + Array(repeating: 0x90, count: 60)),
            ("ELF", [0x7F, 0x45, 0x4C, 0x46] + Array(repeating: 0, count: 40)),
            ("shell script", Headers.ascii("#!/bin/sh\nrm -rf /\n")),
            ("GIF", Headers.ascii("GIF89a") + Array(repeating: 0, count: 20)),
            ("text beginning with BM", Headers.ascii("BM was here, a note about the scan")),
            ("an MP4 video", Headers.box("ftyp", Headers.ascii("isom") + Headers.be32(0) + Headers.ascii("isomavc1"))),
            ("empty", []),
            ("two bytes of a JPEG", [0xFF, 0xD8]),
        ]
        for (name, bytes) in refused { #expect(FileType.detect(bytes) == nil, "\(name)") }
    }

    @Test func patientsSendPhotosAndPDFsAndStaffAlsoImagingFiles() {
        let patient = AttachmentLimits.patient, staff = AttachmentLimits.staff()
        for type in [FileType.jpeg, .png, .heic, .webp, .pdf] {
            #expect(patient.typeProblem(type) == nil && staff.typeProblem(type) == nil, "\(type)")
        }
        for type in [FileType.tiff, .bmp, .dicom] {
            #expect(patient.typeProblem(type)
                    == "This type of file can't be sent. You can send photos (JPEG, PNG, HEIC, WebP) and PDF documents.", "\(type)")
            #expect(staff.typeProblem(type) == nil, "\(type)")
        }
        #expect(staff.typeProblem(nil)
                == "This type of file can't be sent. You can send photos (JPEG, PNG, HEIC, WebP), PDF documents, TIFF, BMP and DICOM.")
        #expect(FileType.pdf.isImage == false && FileType.dicom.isImage == false && FileType.heic.isImage)
    }
}

@Suite struct ImageHeaderTests {
    func size(_ type: FileType, _ bytes: [UInt8], complete: Bool = true) -> ImageHeader.Reading {
        ImageHeader.pixelSize(of: type, in: bytes, complete: complete)
    }

    @Test func eachFormatsHeaderGivesItsSize() {
        #expect(size(.jpeg, Headers.jpeg(width: 4032, height: 3024)) == .size(PixelSize(width: 4032, height: 3024)))
        #expect(size(.png, Headers.png(width: 1600, height: 1200)) == .size(PixelSize(width: 1600, height: 1200)))
        // VP8X: 24-bit width − 1 and height − 1 after 4 flag bytes.
        let vp8x = Headers.webp("VP8X", payload: [0, 0, 0, 0] + [0xBF, 0x0F, 0x00] + [0xCF, 0x0B, 0x00])
        #expect(size(.webp, vp8x) == .size(PixelSize(width: 4032, height: 3024)))
        // VP8L: the signature, then 14 bits of width − 1 and 14 of height − 1.
        let bits = (640 - 1) | (480 - 1) << 14
        #expect(size(.webp, Headers.webp("VP8L", payload: [0x2F] + Headers.le32(bits) + [0, 0, 0, 0, 0])) == .size(PixelSize(width: 640, height: 480)))
        // VP8: a 3-byte frame tag, the start code, 14-bit sides (the top bits are scaling).
        let vp8 = Headers.webp("VP8 ", payload: [0, 0, 0, 0x9D, 0x01, 0x2A] + Headers.le16(800 | 0x4000) + Headers.le16(600) + [0, 0])
        #expect(size(.webp, vp8) == .size(PixelSize(width: 800, height: 600)))
        #expect(size(.tiff, Headers.tiff(width: 3000, height: 2500, bigEndian: false)) == .size(PixelSize(width: 3000, height: 2500)))
        #expect(size(.tiff, Headers.tiff(width: 3000, height: 2500, bigEndian: true)) == .size(PixelSize(width: 3000, height: 2500)))
        #expect(size(.bmp, Headers.bmp(width: 640, height: -480)) == .size(PixelSize(width: 640, height: 480)), "top-down")
        // The largest of the properties: the primary image beside its thumbnail.
        #expect(size(.heic, Headers.heic([(320, 240), (4032, 3024)])) == .size(PixelSize(width: 4032, height: 3024)))
    }

    @Test func aSmallFileClaimingBillionsOfPixelsIsRefusedFromItsHeader() {
        let bomb = Headers.jpeg(width: 60_000, height: 60_000)
        #expect(bomb.count < 3000)
        guard case .size(let claimed) = size(.jpeg, bomb) else { Issue.record("no size"); return }
        #expect(claimed.pixels == 3_600_000_000)
        #expect(AttachmentLimits.pixelProblem(claimed) == "This image is too large (at most 20,000 pixels a side).")
        // Within the sides but over 100 megapixels, and just within both.
        #expect(AttachmentLimits.pixelProblem(PixelSize(width: 15_000, height: 15_000)) != nil)
        #expect(AttachmentLimits.pixelProblem(PixelSize(width: 20_001, height: 10)) != nil)
        #expect(AttachmentLimits.pixelProblem(PixelSize(width: 10_000, height: 10_000)) == nil)
        #expect(AttachmentLimits.pixelProblem(PixelSize(width: 8064, height: 6048)) == nil, "a 48 MP phone photo")
        guard case .size(let png) = size(.png, Headers.png(width: 2_000_000_000, height: 1)) else { Issue.record("no size"); return }
        #expect(AttachmentLimits.pixelProblem(png) != nil)
    }

    @Test func aHeaderCutShortAsksForMoreOrIsDamagedAtTheEnd() {
        let jpeg = Headers.jpeg(width: 100, height: 100, appBytes: 5000)
        let cut = Array(jpeg.prefix(3000))   // inside the APP1 segment
        #expect(size(.jpeg, cut, complete: false) == .needMore)
        #expect(size(.jpeg, cut, complete: true) == .damaged)
        #expect(size(.jpeg, jpeg) == .size(PixelSize(width: 100, height: 100)))
        #expect(size(.png, Array(Headers.png(width: 5, height: 5).prefix(20)), complete: false) == .needMore)
        #expect(size(.heic, Array(Headers.heic([(50, 40)]).prefix(40)), complete: false) == .needMore)
        let tiff = Headers.tiff(width: 10, height: 10, bigEndian: false)
        #expect(size(.tiff, Array(tiff.prefix(20)), complete: false) == .needMore)
    }

    @Test func headersThatSayNothingSensibleAreDamaged() {
        #expect(size(.jpeg, Headers.jpeg(width: 0, height: 100)) == .damaged, "no lines")
        // The scan starts before any frame header.
        #expect(size(.jpeg, [0xFF, 0xD8, 0xFF, 0xDA] + Headers.be16(12) + Array(repeating: 0, count: 40)) == .damaged)
        #expect(size(.jpeg, [0xFF, 0xD8, 0x00, 0x01, 0x02]) == .damaged, "no marker where one must be")
        #expect(size(.png, Headers.png(width: 0, height: 5)) == .damaged)
        var notIHDR = Headers.png(width: 5, height: 5)
        notIHDR[12] = UInt8(ascii: "X")
        #expect(size(.png, notIHDR) == .damaged)
        #expect(size(.webp, Headers.webp("ALPH", payload: Array(repeating: 0, count: 20))) == .damaged)
        #expect(size(.heic, Headers.heic([])) == .damaged, "no ispe")
        #expect(size(.pdf, Headers.ascii("%PDF-1.7")) == .damaged, "documents have no pixel size")
        #expect(size(.tiff, Headers.ascii("II") + Headers.le16(42) + Headers.le32(8) + Headers.le16(0)) == .damaged, "an empty directory")
    }
}

@Suite struct AttachmentLimitsTests {
    @Test func limitsAndTheirMessages() {
        let patient = AttachmentLimits.patient
        #expect(patient.sizeProblem(bytes: 20_000_000) == nil)
        #expect(patient.sizeProblem(bytes: 24_300_000) == "This file is 24.3 MB; the limit is 20 MB.")
        #expect(patient.sizeProblem(bytes: 20_000_001) == "This file is 20.1 MB; the limit is 20 MB.", "just over never reads as the limit")
        #expect(patient.countProblem(files: 10) == nil)
        #expect(patient.countProblem(files: 11) == "You can attach at most 10 files to one message.")
        #expect(patient.maxPerDay == 30)
        let staff = AttachmentLimits.staff()
        #expect(staff.maxFileBytes == 100_000_000 && staff.maxFiles == 20 && staff.maxPerDay == nil)
        #expect(staff.countProblem(files: 21) == "You can attach at most 20 files to one message.")
        #expect(staff.sizeProblem(bytes: 100_000_001) == "This file is 100.1 MB; the limit is 100 MB.")
        #expect(AttachmentLimits.staff(maxMegabytes: 500).maxFileBytes == 500_000_000)
        #expect(AttachmentLimits.staff(maxMegabytes: 9000).maxFileBytes == 500_000_000, "at most 500")
        #expect(AttachmentLimits.staff(maxMegabytes: 0).maxFileBytes == 1_000_000, "at least 1")
    }

    @Test func sizesAreShownAsPhonesShowThem() {
        let shown = [0: "0 KB", 1: "1 KB", 999: "1 KB", 1001: "2 KB", 850_000: "850 KB", 999_000: "999 KB", 999_001: "1 MB", 999_999: "1 MB", 1_000_000: "1 MB",
                     2_400_000: "2.4 MB", 2_449_999: "2.4 MB", 2_450_000: "2.5 MB", 20_000_000: "20 MB", 500_000_000: "500 MB"]
        for (bytes, text) in shown { #expect(AttachmentLimits.display(bytes: bytes) == text, "\(bytes)") }
    }
}

@Suite struct FileNameTests {
    @Test func namesAreCleanedForDisplay() {
        #expect(FileName.clean("panoramic x-ray.png") == "panoramic x-ray.png")
        #expect(FileName.clean("../../etc/passwd") == "passwd")
        #expect(FileName.clean("C:\\Users\\jane\\Desktop\\scan.pdf") == "scan.pdf")
        #expect(FileName.clean("invoice\u{202E}fdp.exe") == "invoicefdp.exe", "a right-to-left override")
        #expect(FileName.clean("photo\u{2066}.jpg\u{2069}") == "photo.jpg")
        #expect(FileName.clean("a\u{0}b\u{7}c\r\n.jpg") == "abc.jpg")
        #expect(FileName.clean("zero\u{200B}width\u{FEFF}.heic") == "zerowidth.heic")
        #expect(FileName.clean("  .hidden  ") == "hidden")
        #expect(FileName.clean("") == "file" && FileName.clean("/") == "file" && FileName.clean("\u{202E}") == "file")
        #expect(FileName.clean("Zahnärztin – Röntgen 日本.jpg") == "Zahnärztin – Röntgen 日本.jpg", "letters of any script stay")
        let long = FileName.clean(String(repeating: "x", count: 300) + ".jpeg")
        #expect(long.count == FileName.maxLength && long.hasSuffix(".jpeg"))
    }
}
