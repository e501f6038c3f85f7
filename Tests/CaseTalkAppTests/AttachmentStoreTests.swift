@testable import CaseTalkApp
import CaseTalkCore
import Foundation
import NIOPosix
import Testing

/// The folder store: whole files or none, read from any offset, names that cannot leave the folder.
@Suite struct FileAttachmentStoreTests {
    func withStore(_ body: (FileAttachmentStore, URL) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("casetalk-store-" + Digest.hex(SecureRandom.bytes(6)))
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            try await body(FileAttachmentStore(root: root, pool: pool), root)
        } catch {
            try await pool.shutdownGracefully()
            throw error
        }
        try await pool.shutdownGracefully()
    }

    func chunks(_ pieces: [[UInt8]], failingAfter: Int? = nil) -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            for (index, piece) in pieces.enumerated() {
                if index == failingAfter { continuation.finish(throwing: CancellationError()); return }
                continuation.yield(piece)
            }
            continuation.finish()
        }
    }

    func readAll(_ store: FileAttachmentStore, _ key: StoreKey, from offset: Int = 0) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await piece in store.read(key, from: offset) { out += piece }
        return out
    }

    func files(under root: URL) -> [String] {
        (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? [])
            .filter { !$0.hasSuffix("/") && (try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent($0).path)[.type] as? FileAttributeType) == .typeRegular }
    }

    @Test func aFileGoesInWholeAndComesOutFromAnyOffset() async throws {
        try await withStore { store, root in
            let pieces = (0..<5).map { n in [UInt8](repeating: UInt8(n), count: 300_000) }
            let key = StoreKey()
            #expect(try await store.put(key, chunks(pieces)) == 1_500_000)
            #expect(try await readAll(store, key) == pieces.flatMap { $0 })
            #expect(try await readAll(store, key, from: 1_200_000) == [UInt8](repeating: 4, count: 300_000))
            // Stored under two folders named by its first characters, readable by the server alone.
            let path = root.appendingPathComponent("\(key.value.prefix(2))/\(key.value.dropFirst(2).prefix(2))/\(key.value)").path
            #expect(FileManager.default.fileExists(atPath: path))
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            await #expect(throws: (any Error).self) { try await store.put(key, chunks([[1]])) }   // never replaced
            try await store.delete(key)
            try await store.delete(key)
            await #expect(throws: (any Error).self) { try await readAll(store, key) }
        }
    }

    @Test func anUploadThatFailsLeavesNothing() async throws {
        try await withStore { store, root in
            let key = StoreKey()
            await #expect(throws: CancellationError.self) { try await store.put(key, chunks([[1, 2, 3], [4, 5, 6], [7]], failingAfter: 2)) }
            await #expect(throws: (any Error).self) { try await readAll(store, key) }
            #expect(files(under: root).isEmpty, "\(files(under: root))")
        }
    }

    @Test func theSweepListsOldFilesAndRemovesOldLeftovers() async throws {
        try await withStore { store, root in
            let old = StoreKey(), new = StoreKey()
            _ = try await store.put(old, chunks([[1]]))
            _ = try await store.put(new, chunks([[2]]))
            let dayAgo = Date().addingTimeInterval(-25 * 3600)
            let oldPath = root.appendingPathComponent("\(old.value.prefix(2))/\(old.value.dropFirst(2).prefix(2))/\(old.value)").path
            try FileManager.default.setAttributes([.modificationDate: dayAgo], ofItemAtPath: oldPath)
            // What a crash mid-upload leaves: a temporary file.
            let stray = root.appendingPathComponent("tmp/\(StoreKey().value).abcd1234")
            FileManager.default.createFile(atPath: stray.path, contents: Data([9]))
            try FileManager.default.setAttributes([.modificationDate: dayAgo], ofItemAtPath: stray.path)
            FileManager.default.createFile(atPath: root.appendingPathComponent("not-a-key").path, contents: Data([9]))
            let listed = try await store.keys(writtenBefore: Date().addingTimeInterval(-24 * 3600))
            #expect(listed == [old])
            #expect(!FileManager.default.fileExists(atPath: stray.path))
        }
    }

    @Test func onlyNamesOfTheRightShapeAreAccepted() {
        let key = StoreKey()
        #expect(key.value.count == 32 && StoreKey(key.value) == key && StoreKey() != key)
        for bad in ["", "../../etc/passwd", String(repeating: "a", count: 31), String(repeating: "A", count: 32),
                    String(repeating: "a", count: 31) + "/", String(repeating: "g", count: 32)] {
            #expect(StoreKey(bad) == nil, "\(bad)")
        }
    }
}
