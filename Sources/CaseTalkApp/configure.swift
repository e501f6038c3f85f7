import CaseTalkCore
import Fluent
import NIOPosix
import Vapor

/// Builds the application from its configuration: services, database, middleware, migrations,
/// routes and commands. Everything the app uses is made here and passed down; nothing is global.
public func configure(_ app: Application, config: AppConfig) async throws {
    app.caseTalk = CaseTalkServices(config: config, clock: .system,
                                    passwords: try PasswordService(parameters: config.passwordParameters),
                                    commonPasswords: try loadCommonPasswords(app),
                                    termsOfUse: try loadTermsOfUse(app),
                                    sealer: Sealer(key: config.dataKey, previous: config.previousDataKeys), auditKey: AuditKey(config.auditKey),
                                    codeHasher: CodeHasher(dataKey: config.dataKey),
                                    mailer: makeMailer(app, config),
                                    phones: makePhoneSender(app, config),
                                    worker: BackgroundWorker(),
                                    attachments: makeAttachmentStore(app, config),
                                    scanner: config.clamd.map { ClamdScanner(address: $0, group: app.eventLoopGroup) },
                                    imageTool: config.imageTool.map { ImageTool(executable: $0) })
    if let clamd = config.clamd { app.logger.notice("virus check: every file is scanned by clamd at \(clamd) before it is shown") }
    app.lifecycle.use(PasswordServiceLifecycle())
    app.lifecycle.use(BackgroundWorkerLifecycle())

    try DatabaseSetup.configure(app, config.database, sqlLogLevel: config.sqlLogLevel, poolSize: config.databasePoolSize,
                                poolWaitSeconds: config.databasePoolWaitSeconds)
    app.migrations.add(Migrations.all(auditKey: app.caseTalk.auditKey, sealer: app.caseTalk.sealer))
    try await DatabaseSetup.prepare(app, config.database)

    app.routes.defaultMaxBodySize = "64kb"
    // Browsers never compress what they post; a compressed body is refused rather than inflated.
    app.http.server.configuration.requestDecompression = .disabled
    // Review M7: a connection with nothing sent either way for this long is closed, idle or half-sent.
    app.http.server.configuration.idleTimeout = .seconds(Int64(config.idleTimeoutSeconds))
    configureMiddleware(app, requestLogLevel: config.requestLogLevel)
    try routes(app)

    await app.asyncCommands.use(ServeWithMigrationsCommand(serve: app.servers.asyncCommand), as: "serve", isDefault: true)
    await app.asyncCommands.use(PracticeCommands(), as: "practice")
    await app.asyncCommands.use(StaffCommands(), as: "staff")
    await app.asyncCommands.use(DemoCommand(), as: "demo")
    await app.asyncCommands.use(AuditCommands(), as: "audit")
    await app.asyncCommands.use(MailCommands(), as: "mail")
    await app.asyncCommands.use(KeyCommands(), as: "keys")
}

/// Twilio when its settings are given; otherwise (development only: production requires them)
/// the development mailbox.
func makePhoneSender(_ app: Application, _ config: AppConfig) -> any PhoneSender {
    if let twilio = config.twilio {
        return TwilioSender(settings: twilio, baseURL: config.twilioAPIBaseURL, client: app.client)
    }
    return DevMailboxPhoneSender(database: { app.db }, clock: AppClock { app.caseTalk.clock.now() })
}

/// The folder store on a thread pool of its own, stopped with the application; or the S3 store
/// on the application's HTTP client.
func makeAttachmentStore(_ app: Application, _ config: AppConfig) -> any AttachmentStore {
    switch config.attachmentStore {
    case .folder(let path):
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        app.lifecycle.use(ThreadPoolLifecycle(pool: pool))
        return FileAttachmentStore(root: URL(fileURLWithPath: path, isDirectory: true), pool: pool)
    case .s3(let setting):
        return S3AttachmentStore(setting: setting, client: app.http.client.shared)
    }
}

struct ThreadPoolLifecycle: LifecycleHandler {
    let pool: NIOThreadPool
    func shutdownAsync(_ application: Application) async {
        try? await pool.shutdownGracefully()
    }
}

/// The list ships in `Public/data/` so that the page's live checklist uses the very same file.
func loadCommonPasswords(_ app: Application) throws -> CommonPasswords {
    let path = app.directory.publicDirectory + "data/common-passwords.txt"
    guard let list = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw AppConfig.MissingSetting(problems: ["The common-password list is missing: \(path)"])
    }
    let common = CommonPasswords(list: list)
    guard common.count >= 10_000 else {
        throw AppConfig.MissingSetting(problems: ["The common-password list has only \(common.count) entries: \(path)"])
    }
    return common
}

/// The newest version in `Resources/Terms/` (files named `terms-of-use-VERSION.txt`, versions
/// as dates); earlier versions stay there as the record of what earlier patients accepted.
func loadTermsOfUse(_ app: Application) throws -> TermsOfUse {
    let folder = app.directory.resourcesDirectory + "Terms/"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    guard let (version, name) = names.compactMap({ name in TermsOfUse.version(fromFileName: name).map { ($0, name) } })
        .max(by: { $0.0 < $1.0 }),
        let text = try? String(contentsOfFile: folder + name, encoding: .utf8) else {
        throw AppConfig.MissingSetting(problems: ["The Terms of Use are missing: no terms-of-use-VERSION.txt in \(folder)"])
    }
    return TermsOfUse(version: version, text: text)
}

/// SMTP when `SMTP_URL` is set; otherwise (development only: production requires SMTP_URL) the
/// development mailbox.
func makeMailer(_ app: Application, _ config: AppConfig) -> any Mailer {
    if let smtp = config.smtp {
        return SMTPMailer(settings: smtp, helloName: SMTPMailer.helloName(for: config.publicBaseURL),
                          group: app.eventLoopGroup, logger: app.logger)
    }
    return DevMailboxMailer(database: { app.db }, clock: AppClock { app.caseTalk.clock.now() })
}

/// Outermost first: headers go on every response (error pages too); a request past its deadline
/// gets an error page; static files skip the session lookup; CSRF is checked once the session is known.
func configureMiddleware(_ app: Application, requestLogLevel: Logger.Level) {
    app.middleware = Middlewares()
    app.middleware.use(RequestLogMiddleware(level: requestLogLevel))
    app.middleware.use(SecurityHeadersMiddleware())
    app.middleware.use(ErrorPagesMiddleware())
    app.middleware.use(RequestDeadlineMiddleware(deadline: .seconds(30)))
    app.middleware.use(PublicFilesMiddleware(publicDirectory: app.directory.publicDirectory))
    app.middleware.use(SessionMiddleware())
    app.middleware.use(CSRFMiddleware(maxBodySize: 64 * 1024))
}

func routes(_ app: Application) throws {
    try app.register(collection: HealthController())
    try app.register(collection: SignInController())
    try app.register(collection: TwoStepController())
    try app.register(collection: RegistrationController())
    try app.register(collection: PasswordResetController())
    try app.register(collection: StaffJoinController())
    let patients = app.grouped(RequirePatientMiddleware())
    try patients.register(collection: PortalController())
    try patients.register(collection: InboxController())
    let staff = app.grouped(RequireStaffMiddleware())
    try staff.register(collection: CasesController())
    try staff.register(collection: PatientTalkController())
    try staff.register(collection: CaseAttachmentsController())
    try staff.register(collection: PracticeController())
    try staff.register(collection: LeavingController())
    try staff.register(collection: AccountController())
    // Staff and patients alike: each sees only the files of their own conversations.
    try app.register(collection: FilesController())
    if app.caseTalk.config.servesDevelopmentMailbox {
        try app.register(collection: DevMailboxController())
    }
}
