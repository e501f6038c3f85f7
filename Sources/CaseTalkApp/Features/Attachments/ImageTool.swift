import CaseTalkCore
import Crypto
import Foundation
import NIOConcurrencyHelpers

/// The image tool (issue 19 item 5, SPEC §8): libvips' `vipsthumbnail` (Debian's
/// libvips-tools), used when it is on the PATH at start-up. An image it handles is decoded and
/// written anew, upright and without metadata, which also drops anything hidden after or inside
/// it that the pure-Swift cleaning let through; it gets a 320 px thumbnail and a 1600 px view for
/// the screen. HEIC becomes JPEG (browsers cannot all show it, and its metadata goes with it);
/// TIFF keeps the file as sent and gets PNG views. BMP is left alone: libvips reads it only
/// through ImageMagick, one of the loaders it marks untrusted.
///
/// Every run is a child process, never this one: with libvips' untrusted loaders blocked
/// (`VIPS_BLOCK_UNTRUSTED`), at most `memoryLimitKB` of address space, killed after `timeLimit`,
/// reading and writing only a private folder; at most `slots` images at once (the research's
/// "1–2 image jobs per core"). Anything the tool writes to its error output counts as a failure:
/// libvips warns, and exits 0, on a damaged image it then half-draws.
final class ImageTool: Sendable {
    /// The `vipsthumbnail` run, found on the PATH once.
    let executable: String
    let timeLimit: Duration
    static let memoryLimitKB = 2 * 1024 * 1024
    private let slots: JobSlots

    init(executable: String, timeLimit: Duration = .seconds(15), slots: Int = 2) {
        self.executable = executable
        self.timeLimit = timeLimit
        self.slots = JobSlots(slots)
    }

    /// The first `vipsthumbnail` in `path` (the PATH's folders), or nil.
    static func find(inPath path: String?) -> String? {
        for folder in (path ?? "").split(separator: ":") where folder.hasPrefix("/") {
            let candidate = "\(folder)/vipsthumbnail"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// What the tool makes of an image of one type: the file rewritten (nil: kept as sent) and
    /// the type of its thumbnail and view.
    struct Plan: Equatable, Sendable {
        let rewritten: FileType?
        let views: FileType
    }

    /// Nil for what the tool leaves alone: documents, DICOM and BMP.
    static func plan(for type: FileType) -> Plan? {
        switch type {
        case .jpeg, .heic: Plan(rewritten: .jpeg, views: .jpeg)
        case .png: Plan(rewritten: .png, views: .png)
        case .webp: Plan(rewritten: .webp, views: .webp)
        case .tiff: Plan(rewritten: nil, views: .png)
        case .bmp, .pdf, .dicom: nil
        }
    }

    static let thumbnailSide = 320
    static let viewSide = 1600

    /// What the tool wrote, in the job's folder.
    struct Made: Sendable {
        let rewritten: URL?
        let view: URL
        let thumbnail: URL
    }

    enum Failure: Error, CustomStringConvertible {
        /// The tool could not make sense of the image (its error output, cut short).
        case unreadable(String)
        /// The tool could not be run, or was stopped at the time limit: not the image's fault.
        case unavailable(String)

        var description: String {
            switch self {
            case .unreadable(let said): "the image tool could not read the image: \(said)"
            case .unavailable(let why): "the image tool did not run: \(why)"
            }
        }
    }

    /// Runs `plan` on the image at `input` (inside `folder`, a private folder of this job). The
    /// rewrite and the view are made at once (two cores), the thumbnail then from the view.
    func make(_ plan: Plan, from input: URL, in folder: URL) async throws(Failure) -> Made {
        await slots.take()
        defer { Task { await slots.give() } }
        let view = folder.appendingPathComponent("view.\(Self.suffix(plan.views))")
        let thumbnail = folder.appendingPathComponent("thumbnail.\(Self.suffix(plan.views))")
        let rewritten = plan.rewritten.map { folder.appendingPathComponent("rewritten.\(Self.suffix($0))") }
        let result: Result<Void, Failure> = await withTaskGroup(of: Result<Void, Failure>.self) { group in
            group.addTask { await self.result { () throws(Failure) in
                try await self.thumbnail(input, side: Self.viewSide, to: view, type: plan.views, in: folder)
            } }
            if let rewritten, let type = plan.rewritten {
                // "No larger than 20,000 px a side, only shrink": every image here is within it
                // (SPEC §8), so this decodes, turns upright and writes it whole.
                group.addTask { await self.result { () throws(Failure) in
                    try await self.run([input.path, "--size", "20000x20000>", "-o", Self.output(rewritten, type: type, quality: 90)], in: folder)
                } }
            }
            var first: Result<Void, Failure> = .success(())
            for await outcome in group where (try? outcome.get()) == nil {
                if case .success = first { first = outcome }
            }
            return first
        }
        try result.get()
        try await self.thumbnail(view, side: Self.thumbnailSide, to: thumbnail, type: plan.views, in: folder)
        return Made(rewritten: rewritten, view: view, thumbnail: thumbnail)
    }

    private func result(_ body: () async throws(Failure) -> Void) async -> Result<Void, Failure> {
        do throws(Failure) { try await body(); return .success(()) } catch { return .failure(error) }
    }

    private func thumbnail(_ input: URL, side: Int, to output: URL, type: FileType, in folder: URL) async throws(Failure) {
        try await run([input.path, "--size", "\(side)x\(side)>", "-o", Self.output(output, type: type, quality: 82)], in: folder)
    }

    /// `vipsthumbnail`'s output: the path, with the saver's options (no metadata kept).
    private static func output(_ url: URL, type: FileType, quality: Int) -> String {
        type == .png ? "\(url.path)[strip]" : "\(url.path)[strip,Q=\(quality)]"
    }

    private static func suffix(_ type: FileType) -> String {
        switch type {
        case .png: "png"
        case .webp: "webp"
        default: "jpg"
        }
    }

    /// One run of the tool, in `folder`, with a memory limit (set by the shell, which then
    /// becomes the tool), its error output in a file there, and a kill at the time limit.
    private func run(_ arguments: [String], in folder: URL) async throws(Failure) {
        let errors = folder.appendingPathComponent("errors-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: errors.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let errorHandle = try? FileHandle(forWritingTo: errors) else {
            throw .unavailable("its error file could not be made")
        }
        defer { try? errorHandle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // `$0` and `$@` pass the tool and its arguments through untouched: the shell reads none of them.
        process.arguments = ["-c", "ulimit -v \(Self.memoryLimitKB) && exec \"$0\" \"$@\"", executable] + arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": folder.path, "TMPDIR": folder.path,
                               "VIPS_BLOCK_UNTRUSTED": "1", "VIPS_CONCURRENCY": "2"]
        process.currentDirectoryURL = folder
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle

        let exited = NIOLockedValueBox(false)
        let timedOut = NIOLockedValueBox(false)
        let status: Int32
        do {
            status = try await withCheckedThrowingContinuation { (done: CheckedContinuation<Int32, any Error>) in
                process.terminationHandler = { finished in
                    exited.withLockedValue { $0 = true }
                    done.resume(returning: finished.terminationStatus)
                }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    done.resume(throwing: error)
                    return
                }
                let pid = process.processIdentifier
                let limit = timeLimit
                Task {
                    try? await Task.sleep(for: limit)
                    exited.withLockedValue { gone in
                        guard !gone else { return }
                        timedOut.withLockedValue { $0 = true }
                        kill(pid, SIGKILL)
                    }
                }
            }
        } catch {
            throw .unavailable(String(describing: error))
        }
        if timedOut.withLockedValue({ $0 }) { throw .unavailable("stopped after \(timeLimit)") }
        let said = String(decoding: (try? Data(contentsOf: errors)) ?? Data(), as: UTF8.self)
        // The shell's own "cannot run" and "not found".
        if status == 126 || status == 127 { throw .unavailable(String(said.prefix(300))) }
        guard status == 0, said.isEmpty else {
            throw .unreadable(String((said.isEmpty ? "exit status \(status)" : said).prefix(300)))
        }
    }
}

/// At most a number of jobs at once; the rest wait their turn, in order.
private actor JobSlots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func take() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func give() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}

extension ImageTool {
    /// Why an uploaded image was not prepared.
    enum PrepareFailure: Error {
        /// The image is damaged: it is refused with SPEC §8's words.
        case unreadable
        /// The tool or the store failed: nothing is kept and the person is asked to try again.
        case failed(any Error)
    }

    /// Makes `file` (stored already, sealed with `key`) what people will see: the tool's rewrite
    /// in place of the file when the plan rewrites it (the file as sent is then removed), and its
    /// thumbnail and view, each sealed with the file's own key under its own variant and stored
    /// under its own random name. The plaintext is in a private folder only while the tool
    /// works, and removed with the folder. `file` unchanged when the tool leaves its type alone.
    func prepare(_ file: UploadedFile, key: [UInt8], name: String, store: any AttachmentStore,
                 sealer: Sealer) async throws(PrepareFailure) -> UploadedFile {
        guard let plan = Self.plan(for: file.stored.type) else { return file }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("casetalk-image-\(UUID().uuidString)")
        var written: [StoreKey] = []
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            defer { try? FileManager.default.removeItem(at: folder) }
            let input = folder.appendingPathComponent("sent")
            try await Self.writePlaintext(of: file, key: key, store: store, to: input)
            let made: Made
            do { made = try await make(plan, from: input, in: folder) } catch {
                if case .unreadable = error { throw PrepareFailure.unreadable }
                throw PrepareFailure.failed(error)
            }
            var out = file
            let fileID = file.id.uuidString
            if let rewritten = made.rewritten, let type = plan.rewritten {
                let stored = try await Self.seal(rewritten, key: key, fileID: fileID, variant: "original", store: store)
                written.append(stored.key)
                guard case .size(let size) = ImageHeader.pixelSize(of: type, in: stored.head, complete: true) else {
                    throw PrepareFailure.unreadable
                }
                out.storeKey = stored.key
                out.stored = file.stored.rewritten(as: type, bytes: stored.bytes, sha256: stored.sha256, pixelSize: size)
                if type != file.stored.type {
                    out.nameSealed = try sealer.seal(Array(FileName.replacingExtension(of: name, with: type).utf8),
                                                     context: UploadedFile.nameContext(file.id))
                }
            }
            let view = try await Self.seal(made.view, key: key, fileID: fileID, variant: Paths.FileSize.view.rawValue, store: store)
            written.append(view.key)
            let thumbnail = try await Self.seal(made.thumbnail, key: key, fileID: fileID, variant: Paths.FileSize.thumbnail.rawValue, store: store)
            written.append(thumbnail.key)
            out.views = UploadedFile.Views(thumbnailKey: thumbnail.key, viewKey: view.key, type: plan.views)
            if out.storeKey != file.storeKey { try? await store.delete(file.storeKey) }
            return out
        } catch {
            for key in written { try? await store.delete(key) }
            if let failure = error as? PrepareFailure { throw failure }
            throw .failed(error)
        }
    }

    /// The stored file's plaintext, into a new file at `url` that only this process may read.
    private static func writePlaintext(of file: UploadedFile, key: [UInt8], store: any AttachmentStore, to url: URL) async throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try await Attachments.plaintext(store.read(file.storeKey, from: 0), key: key, fileID: file.id.uuidString, variant: "original") {
            try handle.write(contentsOf: $0)
        }
    }

    private struct Sealed {
        let key: StoreKey
        let bytes: Int
        let sha256: String
        /// The plaintext's first bytes, for its header.
        let head: [UInt8]
    }

    /// Seals the file at `url` with `key` under `variant` and stores it under a new name.
    private static func seal(_ url: URL, key: [UInt8], fileID: String, variant: String, store: any AttachmentStore) async throws -> Sealed {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let storeKey = StoreKey()
        let writer = try await store.begin(storeKey)
        var seal = SegmentedSeal.Writer(key: key, fileID: fileID, variant: variant)
        var hash = SHA256()
        var bytes = 0
        var head: [UInt8] = []
        do {
            while let chunk = try handle.read(upToCount: 256 * 1024), !chunk.isEmpty {
                let plain = [UInt8](chunk)
                bytes += plain.count
                hash.update(data: plain)
                if head.count < AttachmentPipeline.headLimit { head += plain.prefix(AttachmentPipeline.headLimit - head.count) }
                let sealed = try seal.feed(plain)
                if !sealed.isEmpty { try await writer.write(sealed) }
            }
            guard bytes > 0 else { throw CocoaError(.fileReadCorruptFile) }
            try await writer.write(try seal.finish())
            _ = try await writer.commit()
        } catch {
            await writer.discard()
            throw error
        }
        return Sealed(key: storeKey, bytes: bytes, sha256: Digest.hex(hash.finalize()), head: head)
    }
}
