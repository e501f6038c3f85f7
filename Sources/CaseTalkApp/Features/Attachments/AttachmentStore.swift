import CaseTalkCore
import Foundation
import NIOPosix

/// The name an attachment's sealed bytes are stored under: 128 random bits in hex, saying nothing
/// about the patient, the file or its type (SPEC §8). Only names of this shape are ever read or
/// written, so a stored name can never reach outside the store.
struct StoreKey: Hashable, Sendable, CustomStringConvertible {
    let value: String

    init() {
        value = Digest.hex(SecureRandom.bytes(16))
    }

    /// A name read back from a row or a listing; nil unless it has the shape `init()` gives.
    init?(_ text: String) {
        guard text.utf8.count == 32, text.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        value = text
    }

    var description: String { value }
}

/// Where attachments' sealed bytes live (`ATTACHMENT_STORE`, SPEC §8): a folder, or an
/// S3-compatible service when several servers share the files. What goes in is already sealed
/// (`SegmentedSeal`); the store never sees a name, a type or a byte of plaintext.
protocol AttachmentStore: Sendable {
    /// Begins storing a file under `key`, whole or not at all: until `commit` returns, and the
    /// file is durable, nothing is found under `key`. The caller writes the bytes in order,
    /// awaiting each write (so an upload goes no faster than the store), then commits or discards.
    func begin(_ key: StoreKey) async throws -> any AttachmentWriter

    /// The bytes under `key` from `offset` on, in pieces; fails if there is nothing under `key`.
    func read(_ key: StoreKey, from offset: Int) -> AsyncThrowingStream<[UInt8], any Error>

    /// Removes what is under `key` (nothing there is not an error).
    func delete(_ key: StoreKey) async throws

    /// Every stored name written before `cutoff`, for the sweep of files no row names.
    func keys(writtenBefore cutoff: Date) async throws -> [StoreKey]
}

/// One file on its way into a store, used by one upload at a time, in order.
protocol AttachmentWriter: Sendable {
    func write(_ bytes: [UInt8]) async throws
    /// Makes the file durable under its key; the number of bytes stored.
    func commit() async throws -> Int
    /// Drops what was written (after a failure or a refusal).
    func discard() async
}

extension AttachmentStore {
    /// Stores what `chunks` yields under `key`, whole or not at all.
    func put(_ key: StoreKey, _ chunks: AsyncThrowingStream<[UInt8], any Error>) async throws -> Int {
        let writer = try await begin(key)
        do {
            for try await chunk in chunks { try await writer.write(chunk) }
            return try await writer.commit()
        } catch {
            await writer.discard()
            throw error
        }
    }
}

/// Attachments in a folder (`ATTACHMENT_STORE=file:PATH`, by default `var/attachments`): each under
/// two levels of folders named by its first characters, written to a temporary file first,
/// synced, then renamed into place, so a crash leaves either the whole file or none (and a stray
/// temporary file that the sweep removes). Blocking file calls run on a thread pool of the store's
/// own, never on an event loop or SQLite's pool.
struct FileAttachmentStore: AttachmentStore {
    let root: URL
    let pool: NIOThreadPool
    /// The size of the pieces `read` gives.
    static let readSize = 256 * 1024

    private var temporary: URL { root.appendingPathComponent("tmp", isDirectory: true) }

    private func path(_ key: StoreKey) -> URL {
        let v = key.value
        return root.appendingPathComponent(String(v.prefix(2)), isDirectory: true)
            .appendingPathComponent(String(v.dropFirst(2).prefix(2)), isDirectory: true)
            .appendingPathComponent(v, isDirectory: false)
    }

    func begin(_ key: StoreKey) async throws -> any AttachmentWriter {
        let final = path(key), folder = self.temporary
        let temporary = folder.appendingPathComponent("\(key.value).\(Digest.hex(SecureRandom.bytes(4)))")
        let handle = try await pool.runIfActive { () -> FileHandle in
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard !FileManager.default.fileExists(atPath: final.path),
                  FileManager.default.createFile(atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let handle = FileHandle(forWritingAtPath: temporary.path) else { throw StoreError.cannotWrite }
            return handle
        }
        return Writer(handle: handle, temporary: temporary, final: final, pool: pool)
    }

    /// Writes to the temporary file; `commit` syncs it and renames it into place.
    private final class Writer: AttachmentWriter, @unchecked Sendable {
        // One upload uses it at a time, awaiting each call (the protocol's contract), so the
        // count is never touched by two threads at once.
        private let handle: FileHandle, temporary: URL, final: URL, pool: NIOThreadPool
        private var written = 0

        init(handle: FileHandle, temporary: URL, final: URL, pool: NIOThreadPool) {
            self.handle = handle
            self.temporary = temporary
            self.final = final
            self.pool = pool
        }

        func write(_ bytes: [UInt8]) async throws {
            let handle = self.handle
            try await pool.runIfActive { try handle.write(contentsOf: bytes) }
            written += bytes.count
        }

        func commit() async throws -> Int {
            let handle = self.handle, temporary = self.temporary, final = self.final
            do {
                try await pool.runIfActive {
                    try handle.synchronize()
                    try handle.close()
                    // rename(2) replaces nothing here (the name is new and random) and is atomic.
                    guard rename(temporary.path, final.path) == 0 else { throw StoreError.cannotWrite }
                    FileAttachmentStore.syncFolder(final.deletingLastPathComponent())
                }
            } catch {
                await discard()
                throw error
            }
            return written
        }

        func discard() async {
            let handle = self.handle, temporary = self.temporary
            try? await pool.runIfActive {
                try? handle.close()
                try? FileManager.default.removeItem(at: temporary)
            }
        }
    }

    /// Read as it is asked for (each piece when the reader wants the next), so a slow reader
    /// never makes it hold more than a piece.
    func read(_ key: StoreKey, from offset: Int) -> AsyncThrowingStream<[UInt8], any Error> {
        let reading = Reading(file: path(key), offset: offset, pool: pool)
        return AsyncThrowingStream(unfolding: { try await reading.next() })
    }

    private final class Reading: @unchecked Sendable {
        // Asked for one piece at a time (an unfolding stream awaits each), so never by two threads at once.
        private let file: URL, offset: Int, pool: NIOThreadPool
        private var handle: FileHandle?
        private var done = false

        init(file: URL, offset: Int, pool: NIOThreadPool) {
            self.file = file
            self.offset = offset
            self.pool = pool
        }

        deinit { try? handle?.close() }

        func next() async throws -> [UInt8]? {
            guard !done else { return nil }
            if handle == nil {
                let file = self.file, offset = self.offset
                handle = try await pool.runIfActive { () -> FileHandle in
                    guard let handle = FileHandle(forReadingAtPath: file.path) else { throw StoreError.notFound }
                    try handle.seek(toOffset: UInt64(offset))
                    return handle
                }
            }
            let handle = self.handle!
            let piece = try await pool.runIfActive { try handle.read(upToCount: FileAttachmentStore.readSize) }
            guard let piece, !piece.isEmpty else {
                done = true
                try? handle.close()
                self.handle = nil
                return nil
            }
            return Array(piece)
        }
    }

    func delete(_ key: StoreKey) async throws {
        let file = path(key)
        try await pool.runIfActive {
            do { try FileManager.default.removeItem(at: file) } catch CocoaError.fileNoSuchFile {}
        }
    }

    /// Also removes temporary files older than `cutoff`: what a crash left of an unfinished upload.
    func keys(writtenBefore cutoff: Date) async throws -> [StoreKey] {
        try await pool.runIfActive {
            let manager = FileManager.default
            var found: [StoreKey] = []
            for stray in (try? manager.contentsOfDirectory(at: self.temporary, includingPropertiesForKeys: [.contentModificationDateKey])) ?? [] {
                if let written = try? stray.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate, written < cutoff {
                    try? manager.removeItem(at: stray)
                }
            }
            guard let walker = manager.enumerator(at: self.root, includingPropertiesForKeys: [.contentModificationDateKey, .isRegularFileKey]) else {
                return []
            }
            for case let file as URL in walker {
                // Only files where `put` writes them: two folders down, named as their key begins.
                guard let key = StoreKey(file.lastPathComponent), file.standardizedFileURL.path == self.path(key).standardizedFileURL.path,
                      let values = try? file.resourceValues(forKeys: [.contentModificationDateKey, .isRegularFileKey]),
                      values.isRegularFile == true, let written = values.contentModificationDate, written < cutoff else { continue }
                found.append(key)
            }
            return found
        }
    }

    /// A rename is durable once the folder holding it is synced.
    fileprivate static func syncFolder(_ folder: URL) {
        let descriptor = open(folder.path, O_RDONLY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        _ = close(descriptor)
    }

    enum StoreError: Error { case cannotWrite, notFound }
}
