import CaseTalkCore
import Testing

@Suite struct AttachmentPipelineTests {
    let key = SegmentedSeal.newKey()

    func run(_ bytes: [UInt8], limits: AttachmentLimits = .patient, piece: Int = 4096) throws(AttachmentPipeline.Problem)
        -> (sealed: [UInt8], stored: AttachmentPipeline.Stored) {
        var pipeline = AttachmentPipeline(limits: limits, key: key, fileID: "a-1")
        var sealed: [UInt8] = []
        var at = 0
        while at < bytes.count {
            let end = min(bytes.count, at + piece)
            sealed += try pipeline.feed(bytes[at..<end])
            at = end
        }
        let (last, stored) = try pipeline.finish()
        return (sealed + last, stored)
    }

    func open(_ sealed: [UInt8]) throws -> [UInt8] {
        var reader = SegmentedSeal.Reader(key: key, fileID: "a-1", variant: "original")
        return try reader.feed(sealed) + reader.finish()
    }

    @Test func aPhonesPhotoIsStoredCleanedSealedAndDescribed() throws {
        let photo = Tagged.phoneJPEG()
        var cleaner = ImageCleaner(type: .jpeg)
        let cleaned = try cleaner.feed(photo) + cleaner.finish()
        for piece in [1, 100, 4096, 1 << 20] {
            let (sealed, stored) = try run(photo, piece: piece)
            #expect(try open(sealed) == cleaned, "pieces of \(piece)")
            #expect(stored.type == .jpeg && stored.cleaned && stored.receivedBytes == photo.count && stored.storedBytes == cleaned.count)
            #expect(stored.pixelSize == PixelSize(width: 400, height: 300) && stored.orientation == 6)
            #expect(stored.takenAt == CaptureTime(exif: "2026:11:30 14:05:09"))
            #expect(stored.sha256 == SigV4.payloadHash(cleaned), "the hash of what is stored")
        }
    }

    @Test func aDocumentGoesThroughAsItCame() throws {
        let pdf = Array("%PDF-1.7\n".utf8) + Array(repeating: 0x41, count: 200_000) + Array("\n%%EOF\n".utf8)
        let (sealed, stored) = try run(pdf)
        #expect(try open(sealed) == pdf)
        #expect(stored.type == .pdf && stored.pixelSize == nil && stored.storedBytes == pdf.count && stored.cleaned)
    }

    @Test func staffsImagingFilesAreKeptForTheImageTool() throws {
        let tiff = Headers.tiff(width: 3000, height: 2000, bigEndian: false) + Array(repeating: 0, count: 500)
        #expect(throws: AttachmentPipeline.Problem.wrongType(staff: false)) { try run(tiff) }
        let (_, stored) = try run(tiff, limits: .staff())
        #expect(stored.type == .tiff && !stored.cleaned && stored.pixelSize == PixelSize(width: 3000, height: 2000))
    }

    @Test func eachRefusalStopsWithItsMessage() throws {
        func problem(_ bytes: [UInt8], limits: AttachmentLimits = .patient) -> AttachmentPipeline.Problem? {
            do { _ = try run(bytes, limits: limits); return nil } catch { return error }
        }
        let html = Array("<html><body><script>alert(1)</script></body></html>".utf8)
        #expect(problem(html)?.message() == "This type of file can't be sent. You can send photos (JPEG, PNG, HEIC, WebP) and PDF documents.")
        #expect(problem(html, limits: .staff())?.message()
                == "This type of file can't be sent. You can send photos (JPEG, PNG, HEIC, WebP), PDF documents, TIFF, BMP and DICOM.")
        #expect(problem([])?.message() == "This file is empty or damaged.")
        let photo = Tagged.phoneJPEG()
        #expect(problem(Array(photo.prefix(photo.count - Tagged.trailer.count - 2)))?.message() == "This file is empty or damaged.",
                "cut short of its end")
        #expect(problem(Headers.png(width: 0, height: 10))?.message() == "This file is empty or damaged.")
        // Over the limit: stopped at the first byte past it, and the size the browser gave is shown.
        let big = Array("%PDF-1.7\n".utf8) + Array(repeating: 0x20, count: 1_000_000)
        #expect(problem(big, limits: .staff(maxMegabytes: 1)) == .tooLarge(atLeast: 1_000_009, limit: 1_000_000))
        #expect(problem(big, limits: .staff(maxMegabytes: 1))?.message(shownSize: 2_400_000) == "This file is 2.4 MB; the limit is 1 MB.")
    }

    @Test func aPixelBombIsRefusedFromItsHeaderBeforeTheRestArrives() throws {
        var pipeline = AttachmentPipeline(limits: .patient, key: key, fileID: "a-1")
        let header = Headers.jpeg(width: 60_000, height: 60_000)
        #expect(throws: AttachmentPipeline.Problem.imageTooLarge) { _ = try pipeline.feed(header) }
        // A header that never gives a size within its first megabyte is damaged, not waited for.
        let app: [UInt8] = Tagged.segment(0xE1, Array(repeating: 0x42, count: 65_000))
        let endless: [UInt8] = [0xFF, 0xD8] + Array(repeating: app, count: 17).flatMap { $0 }
        var waiting = AttachmentPipeline(limits: .staff(), key: key, fileID: "a-2")
        #expect(throws: AttachmentPipeline.Problem.emptyOrDamaged) { _ = try waiting.feed(endless) }
    }
}
