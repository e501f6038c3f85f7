import CaseTalkViews
import Foundation
import Testing

@Suite struct HTMLTests {
    @Test func literalsAreAsWrittenAndTextIsEscaped() {
        let name = #"Ana "<b>" & O'Neil"#
        let page: HTML = "<p class=\"who\" title=\"\(name)\">\(name)</p>"
        #expect(page.text == #"<p class="who" title="Ana &quot;&lt;b&gt;&quot; &amp; O&#39;Neil">Ana &quot;&lt;b&gt;&quot; &amp; O&#39;Neil</p>"#)
    }

    @Test func markupMadeEarlierIsNotEscapedTwice() {
        let item: HTML = "<li>\("a & b")</li>"
        let list: HTML = "<ul>\(item)\([item, item])</ul>"
        #expect(list.text == "<ul><li>a &amp; b</li><li>a &amp; b</li><li>a &amp; b</li></ul>")
        #expect(HTML(joining: [item, item]).bytes == item.bytes + item.bytes)
    }

    /// The browser suite's hostile corpus (e2e/test_hostile_input.py), in text and in a quoted
    /// attribute: nothing can end the attribute or open an element, and everything else, bidi
    /// controls, zero-width and astral characters included, comes through unchanged.
    @Test(arguments: [
        "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\u{202E}evil\u{202C}", "zero\u{200B}width", "nul\u{0}byte",
        String(repeating: "a", count: 6000), "\r\nBcc: victim@example.com", "' OR 1=1 --", "javascript:alert(1)",
        "../../etc/passwd", String(repeating: "𝕏", count: 300), "", " ", "%00", "\u{FEFF}bom", "line\nbreak",
        "{{7*7}} #(chrome.csrf)", "\"><script>alert(1)</script>", "'><svg onload=alert(1)>", "&lt;already&gt; &amp;",
    ])
    func hostileTextStaysText(_ hostile: String) {
        let escaped = HTML("\(hostile)").text
        #expect(!escaped.contains("<") && !escaped.contains(">") && !escaped.contains("\"") && !escaped.contains("'"), "\(hostile)")
        #expect(!escaped.utf8.contains(0), "no NUL reaches the page")
        #expect(unescape(escaped) == hostile.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"), "read back as it was typed")
        // In a page, the only markup is the literals: the value cannot end its attribute or open an element.
        let page: HTML = "<a title=\"\(hostile)\" data-x='\(hostile)'>\(hostile)</a>"
        #expect(page.text == "<a title=\"" + escaped + "\" data-x='" + escaped + "'>" + escaped + "</a>")
    }

    @Test func trustedMarkupIsTheOnlyWayInForOtherMarkup() {
        #expect(HTML(trustedMarkup: "<svg><path d=\"M0 0\"/></svg>").text == "<svg><path d=\"M0 0\"/></svg>")
        let empty = HTML()
        #expect(empty.bytes.isEmpty)
        var page: HTML = "<main>"
        page.append("</main>")
        #expect(page.text == "<main></main>")
    }

    /// What a browser reads back from an escaped attribute value.
    private func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
