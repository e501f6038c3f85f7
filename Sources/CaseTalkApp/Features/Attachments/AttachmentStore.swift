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
    /// Stores what `chunks` yields under `key`, whole or not at all: until it has all of it, and it
    /// is on disk, nothing is found under `key`. The number of bytes stored.
    func put(_ key: StoreKey, _ chunks: AsyncThrowingStream<[UInt8], any Error>) async throws -> Int

    /// The bytes under `key` from `offset` on, in pieces; fails if there is nothing under `key`.
    func read(_ key: StoreKey, from offset: Int) -> AsyncThrowingStream<[UInt8], any Error>

    /// Removes what is under `key` (nothing there is not an error).
    func delete(_ key: StoreKey) async throws

    /// Every stored name written before `cutoff`, for the sweep of files no row names.
    func keys(writtenBefore cutoff: Date) async throws -> [StoreKey]
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

    func put(_ key: StoreKey, _ chunks: AsyncThrowingStream<[UInt8], any Error>) async throws -> Int {
        let final = path(key), temporary = self.temporary.appendingPathComponent("\(key.value).\(Digest.hex(SecureRandom.bytes(4)))")
        let handle = try await pool.runIfActive { () -> FileHandle in
            try FileManager.default.createDirectory(at: self.temporary, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard !FileManager.default.fileExists(atPath: final.path),
                  FileManager.default.createFile(atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let handle = FileHandle(forWritingAtPath: temporary.path) else { throw StoreError.cannotWrite }
            return handle
        }
        var written = 0
        do {
            for try await chunk in chunks {
                try await pool.runIfActive { try handle.write(contentsOf: chunk) }
                written += chunk.count
            }
            try await pool.runIfActive {
                try handle.synchronize()
                try handle.close()
                // rename(2) replaces nothing here (the name is new and random) and is atomic.
                guard rename(temporary.path, final.path) == 0 else { throw StoreError.cannotWrite }
                Self.syncFolder(final.deletingLastPathComponent())
            }
        } catch {
            try? await pool.runIfActive {
                try? handle.close()
                try? FileManager.default.removeItem(at: temporary)
            }
            throw error
        }
        return written
    }

    func read(_ key: StoreKey, from offset: Int) -> AsyncThrowingStream<[UInt8], any Error> {
        let file = path(key), pool = self.pool
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let handle = try await pool.runIfActive { () -> FileHandle in
                        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw StoreError.notFound }
                        try handle.seek(toOffset: UInt64(offset))
                        return handle
                    }
                    defer { try? handle.close() }
                    while !Task.isCancelled {
                        let piece = try await pool.runIfActive { try handle.read(upToCount: Self.readSize) }
                        guard let piece, !piece.isEmpty else { break }
                        continuation.yield(Array(piece))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
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
    private static func syncFolder(_ folder: URL) {
        let descriptor = open(folder.path, O_RDONLY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        _ = close(descriptor)
    }

    enum StoreError: Error { case cannotWrite, notFound }
}
