import CaseTalkCore
import CaseTalkViews
import Foundation


/// The render micro-benchmark (issue 17): the Secure Inbox page with 20 rows and a 50-message
/// thread page, each drawn from its model by its typed view, in the release build:
///     swift run -c release casetalk-bench render [batches]
/// Prints the median time per page in microseconds. The figures beside Leaf's, taken before Leaf
/// was removed, are in bench/PROFILE.md.
enum RenderBench {
    static func run(batches: Int) {
        let chrome = PageChrome(title: "Secure Inbox", csrf: SecureRandom.token(), userName: "Ana Silva", isPatient: true)
        let inbox = InboxModel(chrome: chrome, conversations: (0..<20).map { index in
            .init(id: UUID(), practiceName: "Riverside Dental Care", memberName: "Dr. Maya Chen \(index)", caseTitle: "Crown on lower left molar",
                  lastActivity: "2026-12-01 14:0\(index % 10) UTC", unread: index % 3)
        }, previousPage: nil, nextPage: 2)
        let text = "Thank you for the x-rays. The crown fits well; please keep chewing on the other side for a day & call us if it hurts. <3"
        let thread = InboxThreadModel(chrome: chrome, id: UUID(), memberName: "Dr. Maya Chen", practiceName: "Riverside Dental Care",
                                      caseTitle: "Crown on lower left molar",
                                      thread: ThreadModel(entries: (0..<50).map { index in
                                          ThreadEntry(id: UUID().uuidString, mine: index % 2 == 0, author: index % 2 == 0 ? "Ana Silva" : "Dr. Maya Chen",
                                                      date: "2026-12-01 14:\(10 + index) UTC", text: "\(index). " + text,
                                                      read: index % 2 == 0 ? "2026-12-01 15:00 UTC" : nil)
                                      }, earlierPage: 2, laterPage: nil),
                                      sendKey: SecureRandom.token(), draft: "", error: nil)

        /// Median microseconds per call over `batches` batches, each long enough to be measured.
        func measure(_ body: () -> Int) -> (median: Double, bytes: Int) {
            var bytes = 0, sink = 0
            for _ in 0..<200 { bytes = body() }
            var perCall: [Double] = []
            let clock = ContinuousClock()
            for _ in 0..<batches {
                let count = 500
                let started = clock.now
                for _ in 0..<count { sink &+= body() }
                let elapsed = clock.now - started
                perCall.append(Double(elapsed.components.attoseconds) / 1e12 / Double(count) + Double(elapsed.components.seconds) * 1e6 / Double(count))
            }
            perCall.sort()
            precondition(sink > 0)
            return (perCall[perCall.count / 2], bytes)
        }

        func viewBytes(_ html: HTML) -> Int { html.bytes.count }

        print("| page | typed view (µs) | bytes |")
        print("|---|---:|---:|")
        for (name, render) in [
            ("Secure Inbox, 20 rows", { viewBytes(InboxView.render(inbox)) }),
            ("thread, 50 messages", { viewBytes(InboxThreadView.render(thread)) }),
        ] as [(String, () -> Int)] {
            let typed = measure(render)
            print(String(format: "| %@ | %.1f | %d |", name, typed.median, typed.bytes))
        }
    }
}
