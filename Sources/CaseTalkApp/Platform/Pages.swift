import CaseTalkCore
import CaseTalkViews
import Vapor

extension Request {
    /// The chrome for a page seen by the signed-in staff user.
    func staffChrome(_ title: String, notice: String? = nil) throws -> PageChrome {
        let staff = try requireStaff()
        return PageChrome(title: title, csrf: session?.csrfToken, userName: staff.name,
                          practiceName: staff.practiceName, notice: notice, isPracticeAdmin: staff.isAdmin)
    }

    /// A rendered page as the response: its one buffer becomes the body.
    func page(_ html: HTML, status: HTTPResponseStatus = .ok) -> Response {
        var headers = HTTPHeaders()
        headers.contentType = .html
        var buffer = byteBufferAllocator.buffer(capacity: html.bytes.count)
        buffer.writeBytes(html.bytes)
        return Response(status: status, headers: headers, body: .init(buffer: buffer))
    }

    /// A redirect to one of the product's own pages.
    func redirect(to path: Paths) -> Response { redirect(to: path.path) }
}
