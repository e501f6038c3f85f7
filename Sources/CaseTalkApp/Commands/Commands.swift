import CaseTalkCore
import Fluent
import Vapor

/// A command that did not succeed; the message is printed and the process exits with status 1.
public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String
    package init(_ description: String) { self.description = description }
}

package enum CommandSupport {
    /// Commands that write data first bring the schema up to date, so they work on a new database.
    package static func migrated(_ context: CommandContext) async throws -> Application {
        let app = context.application
        try await app.autoMigrate()
        return app
    }

    /// Commands that only read (the audit trail's checks) change nothing: on a database whose
    /// migrations are not all applied they say in one line what to run.
    static func requireMigrated(_ app: Application) async throws {
        let applied = (try? await EngineStatements.appliedMigrations(on: app.db)) ?? 0
        guard applied >= Migrations.count else {
            throw CommandFailure("This database is not set up (\(applied) of \(Migrations.count) migrations applied): run `casetalk migrate` first.")
        }
    }

    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as ValidationError { throw CommandFailure(error.message) }
    }
}

/// `casetalk serve`: applies migrations, seeds an empty development database, prints the demo
/// sign-ins, then serves (Vapor's own serve command does the serving).
struct ServeWithMigrationsCommand: AnyAsyncCommand {
    let serve: ServeCommand
    var help: String { serve.help + " Applies migrations first." }

    func run(using context: inout CommandContext) async throws {
        let app = try await CommandSupport.migrated(context)
        let services = app.caseTalk
        if services.config.seedsDemoData {
            if try await DemoData.isEmpty(app.db) {
                try await DemoData.seed(on: app.db, services: services, now: services.clock.now())
            }
            if try await StaffUser.query(on: app.db).filter(\.$email == DemoData.people[0].email).count() > 0 {
                context.console.info(DemoData.signInSummary())
            }
        }
        services.worker.start(app)
        try await serve.run(using: &context)
        let bound = app.http.server.shared.localAddress
        let listening = bound.flatMap { address in address.port.flatMap { port in
            URL(string: "http://\(address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "127.0.0.1"):\(port)")
        } }
        for line in StartupSummary.lines(services.config, listening: listening) { context.console.info(line) }
    }

    func outputAutoComplete(using context: inout CommandContext) throws { try serve.outputAutoComplete(using: &context) }
    func outputHelp(using context: inout CommandContext) throws { try serve.outputHelp(using: &context) }
}

struct PracticeCommands: AsyncCommandGroup {
    let help = "Manage practices."
    let commands: [String: any AnyAsyncCommand] = ["create": CreatePracticeCommand()]
}

struct CreatePracticeCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable {
        @Option(name: "name", help: "The practice's name.") var name: String?
        init() {}
    }
    let help = "Creates a practice and prints its id."

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = try await CommandSupport.migrated(context)
        let practice = try await CommandSupport.run {
            try await StaffAccounts.createPractice(name: signature.name ?? "", at: app.caseTalk.clock.now(),
                                                   auditKey: app.caseTalk.auditKey, on: app.db)
        }
        context.console.output(try practice.requireID().uuidString.consoleText())
    }
}

struct StaffCommands: AsyncCommandGroup {
    let help = "Manage staff accounts."
    let commands: [String: any AnyAsyncCommand] = ["create": CreateStaffCommand(), "password": StaffPasswordCommand()]
}

struct CreateStaffCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable {
        @Option(name: "practice", help: "The practice id (from `practice create`).") var practice: String?
        @Option(name: "email", help: "Sign-in email address.") var email: String?
        @Option(name: "name", help: "Full name as shown to colleagues and patients.") var name: String?
        @Option(name: "role", help: "doctor or staff.") var role: String?
        @Flag(name: "admin", help: "Lets this user manage the practice's users.") var admin: Bool
        init() {}
    }
    let help = "Creates a staff account; reads the password from standard input."

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let practiceID = signature.practice.flatMap(UUID.init(uuidString:)) else {
            throw CommandFailure("--practice must be a practice id.")
        }
        guard let role = signature.role.flatMap(StaffRole.init(rawValue:)) else {
            throw CommandFailure("--role must be doctor or staff.")
        }
        guard let password = readLine(strippingNewline: true) else {
            throw CommandFailure("Write the password on standard input.")
        }
        let app = try await CommandSupport.migrated(context)
        let user = try await CommandSupport.run {
            try await StaffAccounts.createStaff(
                .init(practiceID: practiceID, email: signature.email ?? "", name: signature.name ?? "", role: role,
                      isAdmin: signature.admin, password: password),
                services: app.caseTalk, at: app.caseTalk.clock.now(), on: app.db)
        }
        context.console.output(try user.requireID().uuidString.consoleText())
    }
}

struct StaffPasswordCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable {
        @Option(name: "email", help: "The staff member's sign-in email address.") var email: String?
        init() {}
    }
    let help = "Sets a new password for a staff account (ends its sessions, lifts its lock); reads it from standard input."

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let password = readLine(strippingNewline: true) else {
            throw CommandFailure("Write the new password on standard input.")
        }
        let app = try await CommandSupport.migrated(context)
        try await CommandSupport.run {
            try await StaffAccounts.setStaffPassword(email: signature.email ?? "", password: password, services: app.caseTalk,
                                                     at: app.caseTalk.clock.now(), on: app.db)
        }
        context.console.output("Password changed.".consoleText())
    }
}

struct DemoCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable { init() {} }
    let help = "Seeds the demo practice, people and cases into the configured database."

    func run(using context: CommandContext, signature: Signature) async throws {
        // SPEC §5: the demo accounts' password is published.
        guard !context.application.caseTalk.config.isProduction else {
            throw CommandFailure("casetalk demo does not run in production: the demo accounts' password is published.")
        }
        let app = try await CommandSupport.migrated(context)
        let added = try await DemoData.seed(on: app.db, services: app.caseTalk, now: app.caseTalk.clock.now())
        context.console.info(added ? "Demo data added." : "Demo data was already there.")
        context.console.info(DemoData.signInSummary())
    }
}

struct AuditCommands: AsyncCommandGroup {
    let help = "Check the audit trail."
    let commands: [String: any AnyAsyncCommand] = ["verify": VerifyAuditCommand(), "head": AuditHeadCommand()]
}

/// `casetalk audit verify [--head TOKEN|FILE]`: recomputes the keyed chain. Given signed heads
/// (a token the server logged, or a log file holding them), also notices entries cut from the
/// end, even if the database's own head row was moved back with them.
struct VerifyAuditCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable {
        @Option(name: "head", help: "A signed head the server logged (casetalk-audit-head:…), or a file of log lines holding them.")
        var head: String?
        init() {}
    }
    let help = "Recomputes the audit trail's keyed hash chain; exits 0 only if it is intact."

    func run(using context: CommandContext, signature: Signature) async throws {
        try await CommandSupport.requireMigrated(context.application)
        let key = context.application.caseTalk.auditKey
        var heads: [SignedAuditHead] = []
        if let given = signature.head {
            let text = FileManager.default.contents(atPath: given).map { String(decoding: $0, as: UTF8.self) } ?? given
            heads = SignedAuditHead.all(in: text)
            guard !heads.isEmpty else { throw CommandFailure("--head holds no signed audit head (casetalk-audit-head:…).") }
            guard heads.allSatisfy({ $0.isSigned(by: key) }) else {
                throw CommandFailure("A signed head was not signed with this audit key: it was forged or comes from another server.")
            }
        }
        switch try await Audit.verify(on: context.application.db, key: key, heads: heads) {
        case .intact(let entries):
            let checked = heads.isEmpty ? "" : " (\(heads.count) signed head\(heads.count == 1 ? "" : "s") checked)"
            context.console.info("Audit trail intact: \(entries) entries\(checked).")
        case .broken(let sequence):
            throw CommandFailure("Audit trail broken at entry \(sequence).")
        case .truncated(let sequence):
            throw CommandFailure("Audit trail truncated: entries from \(sequence) on are missing.")
        }
    }
}

/// `casetalk audit head`: prints the trail's head signed with the audit key, as the server logs it.
struct AuditHeadCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable { init() {} }
    let help = "Prints the audit trail's head, signed with the audit key, to keep outside the database."

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await CommandSupport.requireMigrated(app)
        guard let head = try await Audit.signedHead(on: app.db, key: app.caseTalk.auditKey, at: app.caseTalk.clock.now()) else {
            throw CommandFailure("The audit trail is empty.")
        }
        context.console.output(head.token.consoleText())
    }
}

struct KeyCommands: AsyncCommandGroup {
    let help = "Rotate the data key."
    let commands: [String: any AnyAsyncCommand] = ["rotate": RotateKeysCommand(), "generate": GenerateKeyCommand()]
}

/// `casetalk keys generate`: a new data key, to put in CASETALK_DATA_KEY (README: rotating keys).
struct GenerateKeyCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable { init() {} }
    let help = "Prints a new random 32-byte key, base64, for CASETALK_DATA_KEY (or CASETALK_AUDIT_KEY)."

    func run(using context: CommandContext, signature: Signature) async throws {
        context.console.output(Data(SecureRandom.bytes(32)).base64EncodedString().consoleText())
    }
}

/// `casetalk keys rotate`: re-seals every value sealed under a key in CASETALK_PREVIOUS_DATA_KEYS
/// with CASETALK_DATA_KEY, so the previous keys can then be dropped.
struct RotateKeysCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable { init() {} }
    let help = "Re-seals everything sealed under a previous data key with the current CASETALK_DATA_KEY."

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = try await CommandSupport.migrated(context)
        let sealer = app.caseTalk.sealer
        let counts: SealedData.Counts
        do {
            counts = try await SealedData.resealAll(with: sealer, on: app.db)
        } catch is Sealer.SealError {
            throw CommandFailure("A sealed value opens with none of the keys given: put the key it was sealed with in "
                                 + "CASETALK_PREVIOUS_DATA_KEYS. Values done so far are re-sealed; the rest are as they were.")
        }
        context.console.info("Re-sealed under key \(sealer.currentKeyID): \(counts.messages) messages, \(counts.outbox) queued emails, "
                             + "\(counts.twoStepKeys) two-step keys, \(counts.setupKeys) keys being set up, "
                             + "\(counts.attachmentKeys) attached files' keys and \(counts.attachmentNames) names. "
                             + "Nothing is sealed under another key now; CASETALK_PREVIOUS_DATA_KEYS can be emptied.")
    }
}

struct MailCommands: AsyncCommandGroup {
    let help = "Check email delivery."
    let commands: [String: any AnyAsyncCommand] = ["test": SendTestMailCommand()]
}

/// `casetalk mail test --to ADDRESS[,ADDRESS…]`: sends plain test emails straight through the
/// configured mailer (not the outbox), in one batch over one connection, to check SMTP_URL.
struct SendTestMailCommand: AsyncCommand {
    struct Signature: CommandSignature, Sendable {
        @Option(name: "to", help: "Where to send the test email (several: comma-separated).") var to: String?
        init() {}
    }
    let help = "Sends test emails through SMTP_URL (or the development mailbox) and reports each outcome."

    func run(using context: CommandContext, signature: Signature) async throws {
        let addresses = try await CommandSupport.run {
            try (signature.to ?? "").split(separator: ",").map { try EmailAddress(String($0)) }
        }
        guard !addresses.isEmpty else { throw CommandFailure("Give at least one address with --to.") }
        let app = try await CommandSupport.migrated(context)
        let config = app.caseTalk.config
        let messages = addresses.map { address in
            EmailMessage(from: config.mailFrom, to: address.value, subject: "CaseTalk test email",
                         text: "This is a test email from CaseTalk. Delivery works.",
                         html: "<!doctype html><html><body><p>This is a test email from CaseTalk. Delivery works.</p></body></html>")
        }
        let outcomes = await app.caseTalk.mailer.send(messages)
        var problems: [String] = []
        for (address, outcome) in zip(addresses, outcomes) {
            switch outcome {
            case .sent: context.console.info("\(address): sent.")
            case .retry(let reason): problems.append("\(address): not sent, worth trying again: \(reason).")
            case .rejected(let reason): problems.append("\(address): refused: \(reason).")
            }
        }
        guard problems.isEmpty, outcomes.count == addresses.count else {
            throw CommandFailure(problems.isEmpty ? "Nothing was sent." : problems.joined(separator: "\n"))
        }
    }
}
