import Foundation

/// The registration steps of SPEC §3, in order. Each is a page with **Continue**. The date of
/// birth is asked only when the case has one.
public enum RegistrationStep: String, CaseIterable, Sendable, Comparable {
    case birthDate = "birth-date", phones, method, code, terms, password

    public var title: String {
        switch self {
        case .birthDate: "Date of birth"
        case .phones: "Phone numbers"
        case .method: "Delivery method"
        case .code: "Enter code"
        case .terms: "Terms of Use"
        case .password: "Set password"
        }
    }

    private var order: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: Self, b: Self) -> Bool { a.order < b.order }
}

/// How far a registration has come in this browser session, and which pages it may show. The
/// server keeps the order: a page that is not open yet sends the patient to the first
/// unfinished step. Everything after the code belongs to the session that verified it (SPEC §3):
/// another browser with the same link starts again at the date of birth (when asked) and a new
/// code to the numbers already saved, which only the session that typed them may change.
public struct RegistrationProgress: Equatable, Sendable {
    /// The case has a date of birth, so registration asks for it first.
    public var birthDateAsked: Bool
    /// This session answered it rightly.
    public var birthDateConfirmed: Bool
    public var phonesSaved: Bool
    /// The numbers were typed in this session.
    public var phonesOwned: Bool
    /// A code has been sent (to the number and by the method last chosen).
    public var codeSent: Bool
    /// The code was verified in this session.
    public var codeVerified: Bool
    public var termsAccepted: Bool

    public init(birthDateAsked: Bool = false, birthDateConfirmed: Bool = false, phonesSaved: Bool, phonesOwned: Bool = true,
                codeSent: Bool, codeVerified: Bool, termsAccepted: Bool) {
        self.birthDateAsked = birthDateAsked
        self.birthDateConfirmed = birthDateConfirmed
        self.phonesSaved = phonesSaved
        self.phonesOwned = phonesOwned
        self.codeSent = codeSent
        self.codeVerified = codeVerified
        self.termsAccepted = termsAccepted
    }

    /// The steps this registration has, in order.
    public var steps: [RegistrationStep] {
        birthDateAsked ? RegistrationStep.allCases : RegistrationStep.allCases.filter { $0 != .birthDate }
    }

    /// "Step n of m" for `step` in this registration.
    public func number(of step: RegistrationStep) -> Int { (steps.firstIndex(of: step) ?? 0) + 1 }

    private var birthDateDone: Bool { !birthDateAsked || birthDateConfirmed || codeVerified }

    public var firstUnfinished: RegistrationStep {
        if !birthDateDone { return .birthDate }
        if !phonesSaved { return .phones }
        if !codeVerified { return codeSent ? .code : .method }
        if !termsAccepted { return .terms }
        return .password
    }

    /// Steps already done may be revisited until the phone is verified (to correct a number —
    /// only in the session that typed it — or change the delivery method); after that the
    /// verified number is fixed.
    public func allows(_ step: RegistrationStep) -> Bool {
        switch step {
        case .birthDate: birthDateAsked && !birthDateDone
        case .phones: birthDateDone && !codeVerified && (!phonesSaved || phonesOwned)
        case .method: birthDateDone && phonesSaved && !codeVerified
        case .code: birthDateDone && phonesSaved && codeSent && !codeVerified
        case .terms: codeVerified
        case .password: codeVerified && termsAccepted
        }
    }
}

/// SPEC §3: three wrong answers to the date of birth end the invitation's link.
public enum BirthDateCheck {
    public static let allowedMisses = 3
}

/// The Phone numbers step: Mobile, Home and Work, at least one, each normalised to E.164.
public struct PhoneNumbers: Equatable, Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case mobile, home, work
        public var label: String {
            switch self { case .mobile: "Mobile"; case .home: "Home"; case .work: "Work" }
        }
    }

    public var mobile: PhoneNumber?
    public var home: PhoneNumber?
    public var work: PhoneNumber?

    public init(mobile: PhoneNumber? = nil, home: PhoneNumber? = nil, work: PhoneNumber? = nil) {
        self.mobile = mobile; self.home = home; self.work = work
    }

    /// The numbers as stored (E.164 text); one that no longer parses is left out.
    public init(storedMobile mobile: String?, home: String?, work: String?) {
        self.init(mobile: mobile.flatMap { try? PhoneNumber($0) }, home: home.flatMap { try? PhoneNumber($0) },
                  work: work.flatMap { try? PhoneNumber($0) })
    }

    public subscript(kind: Kind) -> PhoneNumber? {
        switch kind { case .mobile: mobile; case .home: home; case .work: work }
    }

    /// The numbers given, in form order.
    public var all: [(Kind, PhoneNumber)] { Kind.allCases.compactMap { kind in self[kind].map { (kind, $0) } } }

    /// Only the number `e164`, under the kind it was given as (a password reset's code goes only to
    /// the verified number). Empty when none of the numbers is `e164`.
    public func keeping(only e164: String) -> PhoneNumbers {
        PhoneNumbers(mobile: mobile?.e164 == e164 ? mobile : nil, home: home?.e164 == e164 ? home : nil,
                     work: work?.e164 == e164 ? work : nil)
    }

    /// Reads the form. Blank fields are skipped; each bad one is named; at least one is needed.
    public static func validate(mobile: String?, home: String?, work: String?) -> Result<PhoneNumbers, FieldErrors> {
        var errors = FieldErrors()
        var numbers = PhoneNumbers()
        for (kind, raw) in [(Kind.mobile, mobile), (.home, home), (.work, work)] {
            let text = raw ?? ""
            guard !text.trimmingWhitespace().isEmpty else { continue }
            do {
                let number = try PhoneNumber(text)
                switch kind { case .mobile: numbers.mobile = number; case .home: numbers.home = number; case .work: numbers.work = number }
            } catch {
                errors.add(kind.rawValue, "\(kind.label): \(error.message)")
            }
        }
        if errors.isEmpty, numbers.all.isEmpty {
            errors.add("mobile", "Enter at least one phone number. A mobile number can receive the code by text message.")
        }
        return errors.isEmpty ? .success(numbers) : .failure(errors)
    }
}

/// How a verification code reaches the patient.
public enum CodeChannel: String, Codable, Sendable {
    case sms, voice
}

/// One way to receive the code: SPEC §3 allows a text message to a mobile number only, and a
/// voice call to any number.
public struct CodeRoute: Equatable, Sendable {
    public let method: CodeChannel
    public let kind: PhoneNumbers.Kind

    public init?(method: CodeChannel, kind: PhoneNumbers.Kind) {
        guard method == .voice || kind == .mobile else { return nil }
        self.method = method; self.kind = kind
    }

    /// The form value, e.g. `sms-mobile`.
    public var value: String { "\(method.rawValue)-\(kind.rawValue)" }

    public init?(value: String) {
        let parts = value.split(separator: "-")
        guard parts.count == 2, let method = CodeChannel(rawValue: String(parts[0])),
              let kind = PhoneNumbers.Kind(rawValue: String(parts[1])) else { return nil }
        self.init(method: method, kind: kind)
    }

    public var label: String {
        switch method {
        case .sms: "Text message (SMS) to your \(kind.label.lowercased()) number"
        case .voice: "Voice call to your \(kind.label.lowercased()) number"
        }
    }

    /// The route of the last code sent: its channel, and which of `numbers` it went to.
    public static func last(sentTo e164: String?, channel: String?, in numbers: PhoneNumbers) -> CodeRoute? {
        guard let e164, let method = channel.flatMap(CodeChannel.init(rawValue:)),
              let kind = numbers.all.first(where: { $0.1.e164 == e164 })?.0 else { return nil }
        return CodeRoute(method: method, kind: kind)
    }

    /// Every route the given numbers allow: SMS first (it is the quickest), then calls.
    public static func available(for numbers: PhoneNumbers) -> [CodeRoute] {
        var routes: [CodeRoute] = []
        if numbers.mobile != nil { routes.append(CodeRoute(method: .sms, kind: .mobile)!) }
        for (kind, _) in numbers.all { routes.append(CodeRoute(method: .voice, kind: kind)!) }
        return routes
    }
}

/// A version of the Terms of Use, shipped with the app as a text file whose name carries the
/// version (`terms-of-use-2026-11-01.txt`). Lines starting with `# ` are section headings;
/// blank lines separate paragraphs.
public struct TermsOfUse: Sendable, Equatable {
    public struct Section: Sendable, Equatable, Encodable {
        public var heading: String?
        public var paragraphs: [String]
        public init(heading: String?, paragraphs: [String]) { self.heading = heading; self.paragraphs = paragraphs }
    }

    public let version: String
    public let sections: [Section]

    public init(version: String, text: String) {
        self.version = version
        var sections: [Section] = []
        var current = Section(heading: nil, paragraphs: [])
        var paragraph: [String] = []
        func endParagraph() {
            if !paragraph.isEmpty { current.paragraphs.append(paragraph.joined(separator: " ")) }
            paragraph = []
        }
        for raw in text.replacingCRLF().split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw).trimmingWhitespace()
            if line.hasPrefix("# ") {
                endParagraph()
                if current.heading != nil || !current.paragraphs.isEmpty { sections.append(current) }
                current = Section(heading: String(line.dropFirst(2)), paragraphs: [])
            } else if line.isEmpty {
                endParagraph()
            } else {
                paragraph.append(line)
            }
        }
        endParagraph()
        if current.heading != nil || !current.paragraphs.isEmpty { sections.append(current) }
        self.sections = sections
    }

    /// The version named by a file name like `terms-of-use-2026-11-01.txt`, or nil.
    public static func version(fromFileName name: String) -> String? {
        let prefix = "terms-of-use-", suffix = ".txt"
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let version = String(name.dropFirst(prefix.count).dropLast(suffix.count))
        guard !version.isEmpty, version.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 45 }) else { return nil }
        return version
    }
}
