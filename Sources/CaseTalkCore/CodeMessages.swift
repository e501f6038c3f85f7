/// What the patient receives with a verification code (SPEC §3): only the code, never anything
/// about their care.
public enum CodeMessages {
    public static func sms(code: String) -> String {
        "Your CaseTalk verification code is \(code). Do not share it."
    }

    /// The words spoken on the call (shown in the development mailbox).
    public static func spoken(code: String) -> String {
        "Your CaseTalk verification code is: \(slowly(code)) Again, your code is: \(slowly(code))"
    }

    /// Inline TwiML for the call: the digits one by one with pauses, twice.
    public static func twiml(code: String) -> String {
        let digits = slowly(code)
        return "<Response>"
            + "<Say>Your CaseTalk verification code is:</Say><Pause length=\"1\"/>"
            + "<Say>\(digits)</Say><Pause length=\"2\"/>"
            + "<Say>Again, your code is:</Say><Pause length=\"1\"/>"
            + "<Say>\(digits)</Say>"
            + "</Response>"
    }

    /// "1. 2. 3. 4. 5. 6." — a full stop after each digit makes a voice read them one at a time.
    static func slowly(_ code: String) -> String {
        code.filter(\.isNumber).map { "\($0)." }.joined(separator: " ")
    }
}
