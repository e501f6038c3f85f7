import CaseTalkCore
import Fluent

/// Every migration, in order. Names are fixed: they are what the `_fluent_migrations` table records.
/// The audit key re-chains a trail written before the chain was keyed (024); the data keys
/// re-seal values sealed before keys had ids (026).
public enum Migrations {
    public static func all(auditKey: AuditKey, sealer: Sealer) -> [any Migration] { [
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
        UpdateAuditEntryKeyChain(key: auditKey),
        CreatePasswordResetRequest(),
        UpdateSealedDataKeyIDs(sealer: sealer),
        UpdateOutboxKinds(),
        CreateAttachment(),
        UpdateMessageAddFileCount(),
        CreatePatientFileAllowance(),
        UpdateAttachmentAddViews(),
        UpdateAccountsAddResetAllowance(),
        UpdateAccountsAddLastSignIn(),
        CreateDepartures(),
        CreateStaffInvitation(),
        UpdatePracticeAddTimeZone(),
    ] }

    /// How many there are (`/readyz` waits for all of them).
    public static let count = all(auditKey: AuditKey([UInt8](repeating: 0, count: 32)), sealer: Sealer(key: [UInt8](repeating: 0, count: 32))).count
}
