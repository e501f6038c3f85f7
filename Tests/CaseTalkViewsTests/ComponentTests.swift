import CaseTalkCore
import CaseTalkViews
import Foundation
import Testing

/// The shared pieces every page is made of: what a screen reader is told about a field, and
/// where links go.
@Suite struct ComponentTests {
    @Test func aFieldNamesItsHintAndItsErrorForScreenReaders() {
        let quiet = Form.field("mobile", label: "Mobile", value: "", error: nil, hint: "A hint.", attributes: "type=\"tel\"").text
        #expect(quiet.contains(#"aria-describedby="mobile-hint""#) && !quiet.contains("aria-invalid"))
        #expect(quiet.contains(#"<label for="mobile">Mobile</label>"#) && quiet.contains(#"<p class="hint" id="mobile-hint">A hint.</p>"#))

        let wrong = Form.field("mobile", label: "Mobile", value: "12", error: "Enter a 10-digit US number.", hint: "A hint.",
                               attributes: "type=\"tel\"").text
        #expect(wrong.contains(#"aria-invalid="true""#) && wrong.contains(#"aria-describedby="mobile-hint mobile-error""#))
        #expect(wrong.contains(#"<p class="field-error" id="mobile-error">Enter a 10-digit US number.</p>"#))
        #expect(wrong.contains(#"value="12""#))

        let box = Form.field("body", label: "Your reply", value: "</textarea><script>", error: "Enter the message.",
                             placement: .alertAbove, textarea: true, attributes: "rows=\"4\"").text
        #expect(box.contains(#"role="alert""#) && box.contains(#"aria-describedby="body-error""#))
        #expect(box.contains("&lt;/textarea&gt;&lt;script&gt;</textarea>"), "a draft cannot end its box")
        #expect(box.range(of: "id=\"body-error\"")!.lowerBound < box.range(of: "<textarea")!.lowerBound, "read before the box")

        let code = Form.field("code", label: "Code", value: nil, error: "That code is not right.", placement: .summaryOnly,
                              attributes: "type=\"text\"").text
        #expect(code.contains(#"aria-invalid="true""#) && !code.contains("value=") && !code.contains("code-error"))
    }

    @Test func everyFormCarriesTheCSRFTokenEscaped() {
        #expect(Form.csrf("a\"b").text == #"<input type="hidden" name="_csrf" value="a&quot;b">"#)
        #expect(Form.csrf(nil).text == #"<input type="hidden" name="_csrf" value="">"#)
        #expect(Form.next(nil).text.isEmpty)
    }

    @Test func linksComeFromPathsAndTheirValuesAreEscaped() {
        let id = UUID()
        let link: HTML = "<a href=\"\(Paths.caseOverview(id, search: "a\"><b"))\">x</a>"
        #expect(link.text == "<a href=\"/cases/\(id.uuidString)?q=a%22%3E%3Cb\">x</a>")
        let pager = Pager.links(newer: .inbox(page: 1), older: nil).text
        #expect(pager == #"<nav class="pager" aria-label="Pages"><a href="/inbox?page=1">Newer</a></nav>"#)
    }

    @Test func theLayoutShowsTheAccountOnlyToSomeoneSignedIn() {
        let visitor = Layout.page(PageChrome(title: "Sign In", csrf: "t"), "<h1>Sign In</h1>").text
        #expect(!visitor.contains("Sign Out") && !visitor.contains("data-idle-timeout"))
        #expect(visitor.contains("<title>Sign In · CaseTalk</title>"))
        let patient = Layout.page(PageChrome(title: "Inbox", csrf: "t", userName: "Ana <b>", notice: "Sent.", isPatient: true), "").text
        #expect(patient.contains("Sign Out") && patient.contains("Ana &lt;b&gt;") && patient.contains(#"href="/portal""#))
        #expect(patient.contains(#"data-idle-timeout="900""#) && patient.contains(#"data-idle-warning="840""#))
        #expect(patient.contains(#"<p class="notice" role="status">Sent.</p>"#))
        let staff = Layout.page(PageChrome(title: "Cases", csrf: "t", userName: "Dr. Cy", practiceName: "North"), "").text
        #expect(staff.contains(#"href="/cases""#) && staff.contains("· North"))
    }

    @Test func emailsEscapeNamesAndCarryOneLink() {
        let name = "O'Neil <Dental>"
        let html = EmailView.render(["Hello,", "\(name) invited you."], link: "https://casetalk.example/register/abc",
                                    linkText: "Accept", after: ["Bye."]).text
        #expect(html.contains("<p>O&#39;Neil &lt;Dental&gt; invited you.</p>"))
        #expect(html.components(separatedBy: "<a href=").count == 2)
        #expect(html.hasPrefix("<!doctype html>") && html.hasSuffix("</body></html>"))
    }
}
