import CaseTalkCore
import CaseTalkViews
import Foundation
import Leaf
import LeafKit
import NIOCore
import NIOPosix

// The render micro-benchmark (issue 17): the Secure Inbox page with 20 rows and a 50-message
// thread page, each drawn from one model by its typed view and by its Leaf template, side by
// side in one run. Run in the release build from the repository's root:
//     swift run -c release casetalk-bench [batches]
// Prints the median time per page of each, in microseconds, and their ratio.

let chrome = PageChrome(title: "Secure Inbox", csrf: SecureRandom.token(), userName: "Ana Silva", isPatient: true)
let inbox = InboxModel(chrome: chrome, conversations: (0..<20).map { index in
    .init(id: UUID(), practiceName: "Riverside Dental Care", memberName: "Dr. Maya Chen \(index)", caseTitle: "Crown on lower left molar",
          lastActivity: "2026-12-01 14:0\(index % 10) UTC", unread: index % 3)
}, previousPage: nil, nextPage: 2)
let text = "Thank you for the x-rays. The crown fits well; please keep chewing on the other side for a day & call us if it hurts. <3"
let thread = InboxThreadModel(chrome: chrome, id: UUID(), memberName: "Dr. Maya Chen", practiceName: "Riverside Dental Care",
                              caseTitle: "Crown on lower left molar",
                              thread: ThreadModel(entries: (0..<50).map { index in
                                  ThreadEntry(id: UUID(), mine: index % 2 == 0, author: index % 2 == 0 ? "Ana Silva" : "Dr. Maya Chen",
                                              date: "2026-12-01 14:\(10 + index) UTC", text: "\(index). " + text,
                                              read: index % 2 == 0 ? "2026-12-01 15:00 UTC" : nil)
                              }, earlierPage: 2, laterPage: nil),
                              sendKey: SecureRandom.token(), draft: "", error: nil)

let batches = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 15
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let pool = NIOThreadPool(numberOfThreads: 1)
pool.start()
let views = FileManager.default.currentDirectoryPath + "/Resources/Views/"
let sources = LeafSources()
try sources.register(using: NIOLeafFiles(fileio: NonBlockingFileIO(threadPool: pool), sandboxDirectory: views, viewDirectory: views))
let leaf = LeafRenderer(configuration: LeafConfiguration(rootDirectory: views), sources: sources, eventLoop: group.next())

/// Median microseconds per call over `batches` batches, each long enough to be measured.
func measure(_ body: () throws -> Int) rethrows -> (median: Double, bytes: Int) {
    var bytes = 0, sink = 0
    for _ in 0..<200 { bytes = try body() }
    var perCall: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<batches {
        let count = 500
        let started = clock.now
        for _ in 0..<count { sink &+= try body() }
        let elapsed = clock.now - started
        perCall.append(Double(elapsed.components.attoseconds) / 1e12 / Double(count) + Double(elapsed.components.seconds) * 1e6 / Double(count))
    }
    perCall.sort()
    precondition(sink > 0)
    return (perCall[perCall.count / 2], bytes)
}

func viewBuffer(_ html: HTML) -> Int {
    var buffer = ByteBufferAllocator().buffer(capacity: html.bytes.count)
    buffer.writeBytes(html.bytes)
    return buffer.readableBytes
}

print("| page | typed view (µs) | Leaf (µs) | Leaf ÷ view | bytes |")
print("|---|---:|---:|---:|---:|")
for (name, template, render, model) in [
    ("Secure Inbox, 20 rows", "inbox/index", { viewBuffer(InboxView.render(inbox)) }, inbox as any Encodable & Sendable),
    ("thread, 50 messages", "inbox/thread", { viewBuffer(InboxThreadView.render(thread)) }, thread as any Encodable & Sendable),
] as [(String, String, () -> Int, any Encodable & Sendable)] {
    let typed = measure(render)
    let leafed = try measure { try leaf.render(path: template, context: model).wait().readableBytes }
    print(String(format: "| %@ | %.1f | %.1f | %.1f | %d |", name, typed.median, leafed.median, leafed.median / typed.median, typed.bytes))
}
try pool.syncShutdownGracefully()
try group.syncShutdownGracefully()
