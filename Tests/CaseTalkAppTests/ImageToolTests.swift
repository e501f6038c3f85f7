@testable import CaseTalkApp
import CaseTalkCore
import Fluent
import Foundation
import SQLKit
import Testing
import VaporTesting

/// Runs a program in a test and waits for it.
private func runProgram(_ path: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// A folder of its own for a test's files.
private func scratchFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("casetalk-image-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// The image tool with a program standing in for `vipsthumbnail` (a shell script): what it is
/// given to run in, and what the upload does when it fails, hangs or cannot be run at all. The
/// real tool is in `ImageToolWithVipsTests`.
@Suite struct ImageToolTests {
    /// An executable script with `body`, in its own folder.
    func standIn(_ body: String) throws -> (tool: String, folder: URL) {
        let folder = try scratchFolder()
        let path = folder.appendingPathComponent("vipsthumbnail").path
        FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n\(body)\n".utf8), attributes: [.posixPermissions: 0o700])
        return (path, folder)
    }

    func sendPhoto(_ t: TalkWorld, body: String = "Here it is.") async throws -> (TestingHTTPResponse, UUID) {
        try await t.write("Please send a photo.", as: t.ben)
        let conversation = try #require(try await t.conversation(of: t.registration.invitations.world.ben)).requireID()
        try await t.pat.get("/inbox/\(conversation)")
        let sent = try await t.pat.postFiles("/uploads/inbox/\(conversation)", [
            .field("idempotency_key", SecureRandom.token()), .field("body", body),
            .file("IMG_0042.jpg", AttachmentRouteTests.phonePhoto, type: "image/jpeg"),
        ])
        return (sent, conversation)
    }

    @Test func theToolIsFoundOnlyInThePathsOwnFolders() throws {
        let (tool, folder) = try standIn("exit 0")
        #expect(ImageTool.find(inPath: "/nowhere:\(folder.path)") == tool)
        #expect(ImageTool.find(inPath: "relative:/nowhere") == nil)
        #expect(ImageTool.find(inPath: nil) == nil)
        #expect(ImageTool.plan(for: .bmp) == nil && ImageTool.plan(for: .pdf) == nil, "BMP needs an untrusted loader")
        #expect(ImageTool.plan(for: .heic) == .init(rewritten: .jpeg, views: .jpeg))
        #expect(ImageTool.plan(for: .tiff) == .init(rewritten: nil, views: .png))
        #expect(FileName.replacingExtension(of: "IMG_0042.HEIC", with: .jpeg) == "IMG_0042.jpg")
        #expect(FileName.replacingExtension(of: "scan", with: .jpeg) == "scan.jpg")
    }

    @Test func theToolRunsWithUntrustedLoadersBlockedAndNothingElseOfTheServersEnvironment() async throws {
        try await withCaseTalk { app, clock in
            let seen = try scratchFolder().appendingPathComponent("seen")
            // Writes what it was given, then says it could not read the image.
            let (tool, _) = try standIn("env > '\(seen.path)'; ulimit -v >> '\(seen.path)'; pwd >> '\(seen.path)'; echo 'VIPS-WARNING: damaged' >&2")
            app.caseTalk.imageTool = ImageTool(executable: tool)
            let t = try await TalkWorld.make(app, clock)
            let (sent, _) = try await sendPhoto(t, body: "Typed before the photo.")
            #expect(sent.status == .unprocessableEntity)
            #expect(sent.body.string.contains("IMG_0042.jpg: This file is empty or damaged."))
            #expect(sent.body.string.contains("Typed before the photo."), "the typed message is kept")
            #expect(try await AttachmentRouteTests().rows(app) == 0)
            #expect(AttachmentRouteTests().storedFiles(app).isEmpty, "the file as sent is removed too")

            let lines = try String(contentsOf: seen, encoding: .utf8).split(separator: "\n").map(String.init)
            let names = Set(lines.filter { $0.contains("=") }.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) }
                .filter { $0.uppercased() == $0 })
            #expect(lines.contains("VIPS_BLOCK_UNTRUSTED=1"))
            #expect(names.isSubset(of: ["PATH", "HOME", "TMPDIR", "VIPS_BLOCK_UNTRUSTED", "VIPS_CONCURRENCY", "PWD", "SHLVL", "_", "OLDPWD"]),
                    "\(names)")
            #expect(lines.contains(String(ImageTool.memoryLimitKB)), "the memory limit")
            let folder = try #require(lines.last)
            #expect(folder.contains("casetalk-image-") && !FileManager.default.fileExists(atPath: folder), "its folder is gone")
        }
    }

    @Test func aToolThatHangsIsStoppedAndNothingIsKept() async throws {
        try await withCaseTalk { app, clock in
            let (tool, _) = try standIn("exec sleep 30")
            app.caseTalk.imageTool = ImageTool(executable: tool, timeLimit: .milliseconds(500))
            let t = try await TalkWorld.make(app, clock)
            let started = ContinuousClock.now
            let (sent, _) = try await sendPhoto(t)
            #expect(ContinuousClock.now - started < .seconds(20), "stopped at its limit, not waited for")
            #expect(sent.status == .serviceUnavailable)
            #expect(sent.body.string.contains(Uploads.storeFailedMessage))
            #expect(try await AttachmentRouteTests().rows(app) == 0)
            #expect(AttachmentRouteTests().storedFiles(app).isEmpty)
        }
    }

    @Test func aToolThatCannotRunAsksToTryAgainRatherThanCallingThePhotoDamaged() async throws {
        try await withCaseTalk { app, clock in
            app.caseTalk.imageTool = ImageTool(executable: "/nowhere/vipsthumbnail")
            let t = try await TalkWorld.make(app, clock)
            let (sent, _) = try await sendPhoto(t)
            #expect(sent.status == .serviceUnavailable)
            #expect(!sent.body.string.contains("damaged"))
            #expect(try await AttachmentRouteTests().rows(app) == 0)
            #expect(AttachmentRouteTests().storedFiles(app).isEmpty)
        }
    }
}

/// The image tool itself (Debian's libvips-tools). Skipped only where it is not installed and
/// this is not CI; in CI a missing tool fails the tests.
@Suite struct ImageToolWithVipsTests {
    static let tool = ImageTool.find(inPath: ProcessInfo.processInfo.environment["PATH"])
    static var runs: Bool { tool != nil || ProcessInfo.processInfo.environment["CI"] == "true" }
    let routes = AttachmentRouteTests()

    /// An image of `type` made from the phone photo by the tool itself, `width` px wide
    /// (upright: the tool applies the photo's orientation).
    func image(_ type: String, width: Int) throws -> [UInt8] {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("photo.jpg")
        try Data(AttachmentRouteTests.phonePhoto).write(to: source)
        let out = folder.appendingPathComponent("out.\(type)")
        #expect(try runProgram(try #require(Self.tool), [source.path, "--size", "\(width)x", "-o", out.path]) == 0)
        return [UInt8](try Data(contentsOf: out))
    }

    func size(_ bytes: [UInt8], _ type: FileType) -> PixelSize? {
        if case .size(let size) = ImageHeader.pixelSize(of: type, in: bytes, complete: true) { return size }
        return nil
    }

    func row(_ app: Application) async throws -> (type: String, thumbnail: String?, view: String?, viewType: String?) {
        struct Row: Decodable { let file_type: String; let thumbnail_key: String?; let view_key: String?; let view_type: String? }
        let row = try #require(try await app.db.sql.raw("SELECT file_type, thumbnail_key, view_key, view_type FROM attachments").first(decoding: Row.self))
        return (row.file_type, row.thumbnail_key, row.view_key, row.view_type)
    }

    @Test(.enabled(if: runs)) func aPhotoIsRewrittenUprightWithAThumbnailAndAViewOnlyItsTwoPeopleSee() async throws {
        let tool = try #require(Self.tool, "vipsthumbnail is not installed (apt-get install libvips-tools)")
        try await withCaseTalk { app, clock in
            app.caseTalk.imageTool = ImageTool(executable: tool)
            let t = try await TalkWorld.make(app, clock)
            let (sent, conversation) = try await ImageToolTests().sendPhoto(t)
            #expect(sent.status == .seeOther, "\(sent.status) \(sent.body.string)")

            let talk = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(talk.contains("Photo taken Nov 30, 2026 at 2:05\u{202F}PM"), "the capture time is kept")
            let id = try #require(routes.fileIDs(in: talk).first)
            #expect(talk.contains("href=\"/files/\(id)?size=view\"") && talk.contains("src=\"/files/\(id)?size=thumbnail\""))
            let stored = try await row(app)
            #expect(stored.type == "jpeg" && stored.thumbnail != nil && stored.view != nil && stored.viewType == "jpeg")
            #expect(routes.storedFiles(app).count == 3, "the rewrite, its thumbnail and its view; the file as sent is gone")

            for viewer in [t.ben, t.pat] {
                let original = try await viewer.get("/files/\(id)")
                let bytes = [UInt8](original.body.readableBytesView)
                #expect(size(bytes, .jpeg) == PixelSize(width: 40, height: 64), "turned upright (it was 64×40 with orientation 6)")
                #expect(bytes.firstRange(of: Array("Exif".utf8)) == nil, "no EXIF at all, the orientation included")
                for secret in AttachmentRouteTests.secrets { #expect(!routes.contains(bytes, secret)) }
                for variant in ["thumbnail", "view"] {
                    let answer = try await viewer.get("/files/\(id)?size=\(variant)")
                    #expect(answer.status == .ok)
                    #expect(answer.headers.first(name: .contentType) == "image/jpeg")
                    #expect(answer.headers.first(name: "X-Content-Type-Options") == "nosniff")
                    #expect(answer.headers.first(name: "Content-Security-Policy")?.contains("sandbox") == true)
                    #expect(answer.headers.first(name: .contentDisposition)?.hasPrefix("inline;") == true)
                    let shown = [UInt8](answer.body.readableBytesView)
                    #expect(size(shown, .jpeg) == PixelSize(width: 40, height: 64), "never enlarged")
                    #expect(shown.firstRange(of: Array("Exif".utf8)) == nil)
                }
            }
            #expect(try await t.pat.get("/inbox/\(conversation)").body.string.contains("/files/\(id)?size=thumbnail"))

            // The privacy matrix, for the thumbnail and the view too.
            let ada = Browser(app)
            try await ada.signIn("ada@riverside.example")
            for outsider in [t.cy, ada, t.quinn, Browser(app)] {
                for variant in ["thumbnail", "view"] {
                    let answer = try await outsider.get("/files/\(id)?size=\(variant)")
                    #expect(answer.status == .notFound && !routes.contains([UInt8](answer.body.readableBytesView), "JFIF"))
                }
            }
            // The sweep keeps every name a row holds.
            clock.advance(by: Attachments.sweepAge + 60)
            #expect(try await Attachments.sweepUnnamed(store: app.caseTalk.attachments, now: clock.now.addingTimeInterval(3600), on: app.db) == 0)
            #expect(routes.storedFiles(app).count == 3, "the thumbnail and the view are still stored")
        }
    }

    @Test(.enabled(if: runs)) func aLargeImageGetsA320PixelThumbnailAndA1600PixelView() async throws {
        let tool = try #require(Self.tool, "vipsthumbnail is not installed")
        let large = try image("png", width: 2000)
        #expect(size(large, .png) == PixelSize(width: 2000, height: 3200))
        try await withCaseTalk { app, clock in
            app.caseTalk.imageTool = ImageTool(executable: tool)
            let t = try await TalkWorld.make(app, clock)
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let sent = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", ""), .file("chart.png", large, type: "image/png"),
            ])
            #expect(sent.status == .seeOther, "\(sent.status) \(sent.body.string)")
            let id = try #require(routes.fileIDs(in: try await t.ben.get("/cases/\(t.caseID)/talk").body.string).first)
            let thumbnail = [UInt8](try await t.ben.get("/files/\(id)?size=thumbnail").body.readableBytesView)
            let view = [UInt8](try await t.ben.get("/files/\(id)?size=view").body.readableBytesView)
            #expect(size(thumbnail, .png) == PixelSize(width: 200, height: 320))
            #expect(size(view, .png) == PixelSize(width: 1000, height: 1600))
            #expect(size([UInt8](try await t.ben.get("/files/\(id)").body.readableBytesView), .png) == PixelSize(width: 2000, height: 3200))
            // The gallery and its full-screen view use them.
            let gallery = try await t.ben.get("/cases/\(t.caseID)/attachments").body.string
            #expect(gallery.contains("src=\"/files/\(id)?size=thumbnail\""))
            let viewer = try await t.ben.get("/cases/\(t.caseID)/attachments/\(id)").body.string
            #expect(viewer.contains("src=\"/files/\(id)?size=view\"") && viewer.contains("/files/\(id)?download=1"))
        }
    }

    @Test(.enabled(if: runs)) func aHEICPhotoBecomesAJPEGAndATIFFKeepsItsFileWithPNGViews() async throws {
        let tool = try #require(Self.tool, "vipsthumbnail is not installed")
        let heic = try image("heic", width: 64), tiff = try image("tif", width: 64)
        #expect(FileType.detect(heic) == .heic && FileType.detect(tiff) == .tiff)
        try await withCaseTalk { app, clock in
            app.caseTalk.imageTool = ImageTool(executable: tool)
            let t = try await TalkWorld.make(app, clock)
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let sent = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Both."),
                .file("IMG_0007.HEIC", heic, type: "image/heic"), .file("pano.tif", tiff, type: "image/tiff"),
            ])
            #expect(sent.status == .seeOther, "\(sent.status) \(sent.body.string)")
            let talk = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            #expect(talk.contains("IMG_0007.jpg") && !talk.contains("IMG_0007.HEIC"), "named as what it now is")
            #expect(talk.contains("pano.tif") && talk.contains("TIFF image"))
            let ids = routes.fileIDs(in: talk)
            #expect(ids.count == 2)
            // The thread lists the files in its own order: tell them apart by what they answer.
            let first = try await t.ben.get("/files/\(ids[0])")
            let (photoID, scanID) = first.headers.first(name: .contentType) == "image/tiff" ? (ids[1], ids[0]) : (ids[0], ids[1])
            let photo = try await t.ben.get("/files/\(photoID)")
            #expect(photo.headers.first(name: .contentType) == "image/jpeg" && photo.headers.first(name: .contentDisposition)?.hasPrefix("inline;") == true)
            #expect([UInt8](photo.body.readableBytesView).starts(with: [0xFF, 0xD8, 0xFF]), "a JPEG, not the HEIC")
            let scan = try await t.ben.get("/files/\(scanID)")
            #expect(scan.headers.first(name: .contentType) == "image/tiff" && scan.headers.first(name: .contentDisposition)?.hasPrefix("attachment;") == true)
            let asSent = Array(scan.body.readableBytesView) == tiff
            #expect(asSent, "the TIFF as sent, for download (\(scan.body.readableBytes) bytes)")
            let scanView = try await t.ben.get("/files/\(scanID)?size=view")
            #expect(scanView.headers.first(name: .contentType) == "image/png" && FileType.detect([UInt8](scanView.body.readableBytesView)) == .png)
        }
    }

    @Test(.enabled(if: runs)) func aBMPIsLeftForDownloadAndAnImageTheToolCannotReadIsRefused() async throws {
        let tool = try #require(Self.tool, "vipsthumbnail is not installed")
        // 2×1, 24-bit, as BITMAPINFOHEADER lays it out.
        let bmp: [UInt8] = [0x42, 0x4D, 62, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24, 0,
                            0, 0, 0, 0, 8, 0, 0, 0, 0x13, 0x0B, 0, 0, 0x13, 0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 255, 255, 255, 255, 0, 0]
        // A PNG whose pixel data is not what its header promises.
        var broken = try image("png", width: 64)
        let data = try #require(broken.firstRange(of: Array("IDAT".utf8)))
        for index in (data.upperBound + 8)..<min(data.upperBound + 200, broken.count - 20) { broken[index] = 0x5A }
        try await withCaseTalk { app, clock in
            app.caseTalk.imageTool = ImageTool(executable: tool)
            let t = try await TalkWorld.make(app, clock)
            try await t.ben.get("/cases/\(t.caseID)/talk")
            let sent = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "BMP."), .file("old.bmp", bmp, type: "image/bmp"),
            ])
            #expect(sent.status == .seeOther, "\(sent.status) \(sent.body.string)")
            let talk = try await t.ben.get("/cases/\(t.caseID)/talk").body.string
            let id = try #require(routes.fileIDs(in: talk).first)
            #expect(talk.contains("/files/\(id)?download=1") && !talk.contains("size=thumbnail"))
            #expect(try await t.ben.get("/files/\(id)?size=thumbnail").status == .notFound)

            let refused = try await t.ben.postFiles("/uploads/cases/\(t.caseID)/talk", [
                .field("idempotency_key", SecureRandom.token()), .field("body", "Broken."), .file("broken.png", broken, type: "image/png"),
            ])
            #expect(refused.status == .unprocessableEntity, "\(refused.status)")
            #expect(refused.body.string.contains("broken.png: This file is empty or damaged."))
            #expect(try await routes.rows(app) == 1)
        }
    }
}
