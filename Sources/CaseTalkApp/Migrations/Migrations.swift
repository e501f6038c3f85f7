import Fluent

/// Every migration, in order. Names are fixed: they are what the `_fluent_migrations` table records.
public enum Migrations {
    public static let all: [any Migration] = [
        CreatePractice(),
        CreateStaffUser(),
        CreateCase(),
        CreateCaseMember(),
        CreateSession(),
        CreateAuditEntry(),
        CreateAuditHead(),
        CreateOutbox(),
        CreateDevMailbox(),
        CreateInvitation(),
        UpdateSessionAddRegistration(),
        CreateRegistration(),
        UpdateRegistrationAddSteps(),
        CreatePatient(),
        CreateConversation(),
        CreatePasswordReset(),
        CreateRateLimit(),
        UpdateMessageAddIdempotencyKey(),
        UpdateAuditEntryAppendOnly(),
        CreateMessageUnreadIndex(),
        UpdateConversationAddPatient(),
        UpdateCodeHoldersAddSessionBinding(),
        CreateTwoStepVerification(),
    ]
}
