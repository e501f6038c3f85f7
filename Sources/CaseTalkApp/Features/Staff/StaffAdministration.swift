import CaseTalkCore
import Fluent
import Foundation

/// A practice admin's changes to a colleague's account (SPEC §9), each audited with who, whom
/// and when; **Deactivate** and **Reactivate** are in `Departures`.
enum StaffAdministration {
    enum Edit: Equatable, Sendable { case saved, lastAdmin, notFound }

    /// **Reset two-step verification** (SPEC §9), for a colleague who lost their phone: the key
    /// and recovery codes go and every session of theirs ends (whoever has the phone may be signed
    /// in), so that their next sign-in sets it up again; they are emailed, and it is audited. False
    /// when there was nothing to reset in the admin's practice.
    static func resetTwoStep(_ staffID: UUID, by admin: SignedInStaff, _ use: UseCaseContext) async throws -> Bool {
        let services = use.services
        return try await use.db.transaction { tx in
            guard let address = try await AccountsTable.resetTwoStep(staffID, practiceID: admin.practiceID, on: tx) else { return false }
            try await RecoveryCodesTable.removeAll(staffID: staffID, on: tx)
            try await SessionsTable.deleteAll(of: .staff(staffID), on: tx)
            try await Outbox.enqueue(PracticeEmails.twoStepReset(to: address, from: services.config.mailFrom,
                                                                 link: Paths.signIn().url(base: services.config.publicBaseURL)),
                                     kind: .twoStepReset, relatedID: staffID, sealer: services.sealer, at: use.now, on: tx)
            try await use.on(tx).audit(.twoStepReset, actor: .staff(admin.id), subject: "staff:\(staffID)")
            return true
        }
    }

    /// **Practice settings** (SPEC §9): the name (1 to 200 characters of one line) and an IANA
    /// time zone the system lists; audited with the fields changed. The problems by field, if any.
    static func saveSettings(name rawName: String?, timeZone rawZone: String?, by admin: SignedInStaff,
                             _ use: UseCaseContext) async throws -> FieldErrors? {
        var errors = FieldErrors()
        var name: String?
        do {
            name = try TextInput.singleLine(rawName, label: "practice name", maxLength: 200)
            if name == nil { errors.add("practice_name", "Enter the practice's name.") }
        } catch { errors.add("practice_name", error.message) }
        let zone = rawZone ?? ""
        if !ShownZone.isListed(zone) { errors.add("time_zone", "Choose a time zone from the list.") }
        guard let name, errors.isEmpty else { return errors }
        try await use.db.transaction { tx in
            guard let practice = try await Practice.find(admin.practiceID, on: tx) else { return }
            let changed = [("name", practice.name != name), ("time_zone", practice.timeZone != zone)].filter(\.1).map(\.0)
            guard !changed.isEmpty else { return }
            try await PracticesTable.updateSettings(admin.practiceID, name: name, timeZone: zone, on: tx)
            try await use.on(tx).audit(.practiceSettingsChanged, actor: .staff(admin.id),
                                       subject: "practice:\(admin.practiceID) changed:\(changed.joined(separator: ","))")
        }
        return nil
    }

    /// A staff member's Name (1 to 100 characters of one line) and Role, as **Edit** and
    /// **Invite Staff** take them; each problem is added to `errors` under its field.
    static func checkDetails(name: String?, role: String?, into errors: inout FieldErrors) -> (name: String, role: StaffRole)? {
        var checkedName: String?
        do {
            checkedName = try TextInput.singleLine(name, label: "name", maxLength: 100)
            if checkedName == nil { errors.add("name", "Enter the name.") }
        } catch { errors.add("name", error.message) }
        let checkedRole = role.flatMap(StaffRole.init(rawValue:))
        if checkedRole == nil { errors.add("role", "Choose Doctor or Staff.") }
        guard let checkedName, let checkedRole else { return nil }
        return (checkedName, checkedRole)
    }

    /// **Edit**: name, role and admin mark, in one conditional statement after the practice's
    /// lock (the last active admin keeps the mark). The audit entry names the fields changed.
    static func edit(_ staffID: UUID, name: String, role: StaffRole, isAdmin: Bool, by admin: SignedInStaff,
                     _ use: UseCaseContext) async throws -> Edit {
        try await use.db.transaction { tx in
            guard try await PracticesTable.lock(admin.practiceID, on: tx),
                  let before = try await AccountsTable.staff(ofPractice: admin.practiceID, on: tx).first(where: { $0.id == staffID }) else {
                return .notFound
            }
            guard try await AccountsTable.editStaff(staffID, practiceID: admin.practiceID, name: name, role: role, isAdmin: isAdmin,
                                                    on: tx) else { return .lastAdmin }
            let changed = [("name", before.name != name), ("role", before.role != role.rawValue), ("admin", before.isAdmin != isAdmin)]
                .filter(\.1).map(\.0)
            if !changed.isEmpty {
                try await use.on(tx).audit(.staffEdited, actor: .staff(admin.id), subject: "staff:\(staffID) changed:\(changed.joined(separator: ","))")
            }
            return .saved
        }
    }
}
