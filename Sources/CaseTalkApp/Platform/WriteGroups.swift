import Fluent
import NIOConcurrencyHelpers
import NIOCore

/// Writes that arrive while a group is being written wait (without a thread) and go together in
/// the next group: one transaction for all of them, whose statements the caller's `store` makes
/// a fixed number however many items there are. Each item still gets its own answer, and one
/// that cannot be stored fails alone: a group that fails is written again one item at a time.
///
/// Writers on one database take turns anyway (SQLite has one write lock, and every change
/// worth auditing appends to the one audit chain), so this is where write throughput comes from:
/// the lock is taken, and the log synced, once per group instead of once per request.
final class WriteGroups<Item: Sendable, Output: Sendable>: Sendable {
    /// Stores a group in one transaction; an answer per item, in order.
    typealias Store = @Sendable (_ items: [Item], _ services: CaseTalkServices, _ db: any Database) async throws
        -> [Result<Output, any Error>]

    private typealias Answer = CheckedContinuation<Result<Output, any Error>, Never>
    private struct State {
        var queue: [(item: Item, answer: Answer)] = []
        var writing = false
    }
    private let state = NIOLockedValueBox(State())
    private let store: Store
    /// The most items in one group (their binds stay far below every engine's limit per statement).
    let maxGroup: Int
    /// How long one group may take. A database that went away can leave a statement that never
    /// hears back (seen when PostgreSQL restarts under load); its group is then answered as failed
    /// and left behind, so the writes after it are not stuck behind it. Those items may still be
    /// stored if it ever finishes: a send retried with its form key is then recognized.
    let deadline: TimeAmount

    init(maxGroup: Int = 128, deadline: TimeAmount = .seconds(10), store: @escaping Store) {
        self.maxGroup = maxGroup
        self.deadline = deadline
        self.store = store
    }

    struct TookTooLong: Error {}

    /// A store that answered a different number of items than it was given: a bug in the store,
    /// reported to each item (retried alone) instead of leaving the unanswered ones waiting for ever.
    struct Miscounted: Error {
        let items: Int
        let answers: Int
    }

    /// Stores `item` with whatever else is waiting; its answer. The group is written on the
    /// database and with the services of the request that found nothing being written.
    func write(_ item: Item, services: CaseTalkServices, on db: any Database) async throws -> Output {
        let result = await withCheckedContinuation { (answer: Answer) in
            let startWriting = state.withLockedValue { state in
                state.queue.append((item, answer))
                if state.writing { return false }
                state.writing = true
                return true
            }
            if startWriting { Task { await self.drain(services: services, on: db) } }
        }
        return try result.get()
    }

    /// Writes groups until nothing waits.
    private func drain(services: CaseTalkServices, on db: any Database) async {
        while let group = nextGroup() {
            await write(group, services: services, on: db)
        }
    }

    private func nextGroup() -> [(item: Item, answer: Answer)]? {
        state.withLockedValue { state in
            guard !state.queue.isEmpty else {
                state.writing = false
                return nil
            }
            let group = Array(state.queue.prefix(maxGroup))
            state.queue.removeFirst(group.count)
            return group
        }
    }

    /// `store`, or `TookTooLong` once the deadline has passed (the store is left running).
    private func storeInTime(_ items: [Item], services: CaseTalkServices, on db: any Database) async throws -> [Result<Output, any Error>] {
        let outcome = await withCheckedContinuation { (answer: CheckedContinuation<Result<[Result<Output, any Error>], any Error>, Never>) in
            let answered = NIOLockedValueBox(false)
            @Sendable func finish(_ result: Result<[Result<Output, any Error>], any Error>) {
                guard answered.withLockedValue({ done in defer { done = true }; return !done }) else { return }
                answer.resume(returning: result)
            }
            let timer = db.eventLoop.scheduleTask(in: deadline) { finish(.failure(TookTooLong())) }
            Task { [store] in
                let result: Result<[Result<Output, any Error>], any Error>
                do {
                    let answers = try await store(items, services, db)
                    guard answers.count == items.count else { throw Miscounted(items: items.count, answers: answers.count) }
                    result = .success(answers)
                } catch { result = .failure(error) }
                timer.cancel()
                finish(result)
            }
        }
        return try outcome.get()
    }

    private func write(_ group: [(item: Item, answer: Answer)], services: CaseTalkServices, on db: any Database) async {
        do {
            let results = try await storeInTime(group.map(\.item), services: services, on: db)
            for (entry, result) in zip(group, results) { entry.answer.resume(returning: result) }
        } catch let error as TookTooLong {
            for entry in group { entry.answer.resume(returning: .failure(error)) }
        } catch where group.count > 1 {
            // Whatever failed is one item's doing: each again on its own.
            for entry in group { await write([entry], services: services, on: db) }
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Another server stored the same thing at the same moment (a send's form key): once
            // more finds what it stored.
            let result: Result<Output, any Error>
            do { result = try await storeInTime([group[0].item], services: services, on: db)[0] } catch { result = .failure(error) }
            group[0].answer.resume(returning: result)
        } catch {
            group[0].answer.resume(returning: .failure(error))
        }
    }
}
