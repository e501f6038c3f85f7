import Foundation
import AsyncHTTPClient
import NIOHTTP1
import Testing
@testable import CaseTalkApp

/// What the S3 store reads of S3's answers (the store itself runs against moto_server, with its
/// signatures checked, in e2e/test_s3_store.py).
@Suite struct S3StoreTests {
    @Test func elementsAreReadByTheirWholeName() {
        let listing = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListMultipartUploadsResult><Bucket>files</Bucket>
            <Upload><Key>0123456789abcdef0123456789abcdef</Key><UploadId>abc&amp;def</UploadId><Initiated>2026-12-01T10:15:00.000Z</Initiated></Upload>
            <Upload><Key>other/name.txt</Key><UploadId>x</UploadId><Initiated>2026-12-01T10:15:00Z</Initiated></Upload>
            <IsTruncated>false</IsTruncated><Empty/></ListMultipartUploadsResult>
            """
        let uploads = S3XML.values("Upload", in: listing)
        #expect(uploads.count == 2, "<UploadId> is not an <Upload>")
        #expect(S3XML.values("UploadId", in: uploads[0]) == ["abc&def"])
        #expect(S3XML.values("Key", in: uploads[1]) == ["other/name.txt"])
        #expect(S3XML.values("Empty", in: listing) == [""])
        #expect(S3XML.values("Missing", in: listing).isEmpty)
        #expect(S3XML.date("2026-12-01T10:15:00.000Z") == S3XML.date("2026-12-01T10:15:00Z"))
        #expect(S3XML.date("2026-12-01T10:15:00Z") == Date(timeIntervalSince1970: 1_796_120_100))
        #expect(S3XML.date("yesterday") == nil)
        // Only names of the store's own shape are taken from a listing.
        #expect(S3XML.values("Key", in: listing).compactMap(StoreKey.init).map(\.value) == ["0123456789abcdef0123456789abcdef"])
    }

    @Test func partsAreEscapedForTheCompletingRequest() {
        #expect(S3XML.escape("\"a<b>&c\"") == "\"a&lt;b&gt;&amp;c\"")
        #expect(S3XML.unescape(S3XML.escape("<&>")) == "<&>")
    }

    @Test func anErrorDocumentNamesItsCode() {
        let answer = "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>"
        #expect(S3XML.values("Code", in: answer) == ["SignatureDoesNotMatch"])
    }
}

/// The S3 store itself against moto's server, which the test starts on loopback (moto accepts any
/// signature in this mode; e2e/test_s3_store.py runs it with signatures checked). Skipped only
/// where moto is not installed and this is not CI; in CI a missing moto fails the test.
@Suite struct S3StoreAgainstMotoTests {
    /// The Python interpreter itself (not a version manager's shim, which would outlive a
    /// terminate) when it has moto installed.
    static let python: String? = {
        guard let python3 = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map({ "\($0)/python3" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let process = Process(), output = Pipe()
        process.executableURL = URL(fileURLWithPath: python3)
        process.arguments = ["-c", "import moto.server, sys; print(sys.executable)"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !path.isEmpty ? path : nil
    }()
    static var runs: Bool { python != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    @Test(.enabled(if: runs)) func filesGoInWholeComeBackInPiecesAndAreSwept() async throws {
        let python = try #require(Self.python, "moto is not installed (pip install 'moto[server]')")
        let port = Int.random(in: 41_000..<49_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await check(S3AttachmentStore(setting: .init(bucket: "casetalk-test", endpoint: URL(string: "http://127.0.0.1:\(port)")!,
                                                             region: "us-east-1", accessKeyID: "AKID", secretAccessKey: "secret"),
                                              client: client))
        } catch {
            try? await client.shutdown()
            stop(process)
            throw error
        }
        try await client.shutdown()
        stop(process)
    }

    /// SIGKILL: moto's server waits on its open connections' threads after a SIGTERM.
    private func stop(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private func stream(_ bytes: [UInt8], pieces: Int = 300_000) -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            for start in stride(from: 0, to: bytes.count, by: pieces) { continuation.yield(Array(bytes[start..<min(start + pieces, bytes.count)])) }
            continuation.finish()
        }
    }

    private func read(_ store: S3AttachmentStore, _ key: StoreKey, from offset: Int = 0) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await piece in store.read(key, from: offset) { out += piece }
        return out
    }

    private func check(_ store: S3AttachmentStore) async throws {
        // moto takes a moment to listen; then the bucket is made.
        var ready = false
        for _ in 0..<120 where !ready {
            if let answer = try? await store.send(.PUT, key: nil, accepting: [200]) {
                _ = try? await answer.body.collect(upTo: 1 << 16)
                ready = true
            } else {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        try #require(ready, "moto_server did not answer")

        let small = (0..<1000).map { UInt8($0 % 251) }
        let smallKey = StoreKey()
        #expect(try await store.put(smallKey, stream(small)) == small.count)
        #expect(try await read(store, smallKey) == small)
        #expect(try await read(store, smallKey, from: 400) == Array(small[400...]))

        // Over one part (a multipart upload of two), and exactly three read pieces (the fourth
        // ranged request begins at the end).
        let large = (0..<(3 * S3AttachmentStore.readSize)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(large.count > S3AttachmentStore.partSize)
        let largeKey = StoreKey()
        #expect(try await store.put(largeKey, stream(large)) == large.count)
        #expect(try await read(store, largeKey) == large)
        #expect(try await read(store, largeKey, from: 5_000_000) == Array(large[5_000_000...]))

        // Nothing is found under a key until its upload completes, nor after it was discarded.
        let dropped = StoreKey()
        let discarded = try await store.begin(dropped)
        try await discarded.write(Array(large.prefix(S3AttachmentStore.partSize + 10)))
        await discarded.discard()
        await #expect(throws: S3AttachmentStore.StoreError.notFound) { try await read(store, dropped) }

        // An upload a crash left unfinished is aborted by the sweep, which lists only stored files.
        let abandoned = try await store.begin(StoreKey())
        try await abandoned.write(Array(large.prefix(S3AttachmentStore.partSize + 10)))
        #expect(try await store.keys(writtenBefore: Date().addingTimeInterval(-3600)).isEmpty)
        #expect(Set(try await store.keys(writtenBefore: Date().addingTimeInterval(3600))) == [smallKey, largeKey])
        await #expect(throws: (any Error).self) { _ = try await abandoned.commit() }

        try await store.delete(smallKey)
        try await store.delete(smallKey)
        await #expect(throws: S3AttachmentStore.StoreError.notFound) { try await read(store, smallKey) }
        #expect(try await store.keys(writtenBefore: Date().addingTimeInterval(3600)) == [largeKey])
    }
}
