import CaseTalkViews
import Vapor

/// An error whose message is written for the person using the page.
struct PublicError: AbortError {
    let status: HTTPResponseStatus
    let message: String
    /// Seconds, for a 429: sent as `Retry-After`.
    var retryAfter: Int? = nil
    var reason: String { message }

    static let notFound = PublicError(status: .notFound, message: "We couldn't find that page.")
    static let csrfRejected = PublicError(
        status: .forbidden, message: "This form has expired or was sent from somewhere else. Go back, reload the page and try again.")
    static let tooLarge = PublicError(status: .payloadTooLarge, message: "What you sent is too large.")
    static let badForm = PublicError(status: .badRequest, message: "The form could not be read. Reload the page and try again.")
}

/// Turns every error into a plain page that says what went wrong in general terms. Details of
/// the error never reach the response; the log gets its type, not its text (it may hold data).
struct ErrorPagesMiddleware: Middleware {
    func respond(to req: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        next.respond(to: req).flatMapError { error in
            req.eventLoop.makeFutureWithTask { await Self.page(for: error, req) }
        }
    }

    private static func page(for error: any Error, _ req: Request) async -> Response {
        let (status, message) = describe(error)
        if status.code >= 500 {
            req.logger.error("request failed", metadata: ["error": .string(String(reflecting: type(of: error))),
                                                         "status": .stringConvertible(status.code)])
        }
        // A signed-in person keeps the navigation and Sign Out on an error page.
        let chrome = (try? req.staffChrome(status.reasonPhrase)) ?? (try? req.patientChrome(status.reasonPhrase))
            ?? PageChrome(title: status.reasonPhrase)
        let response = req.page(ErrorView.render(ErrorModel(chrome: chrome, message: message)), status: status)
        if let seconds = (error as? PublicError)?.retryAfter {
            response.headers.replaceOrAdd(name: .retryAfter, value: String(seconds))
        }
        return response
    }

    static func describe(_ error: any Error) -> (HTTPResponseStatus, String) {
        switch error {
        case let error as PublicError:
            return (error.status, error.message)
        case let error as any AbortError:
            switch error.status {
            case .notFound: return (.notFound, PublicError.notFound.message)
            case .badRequest, .unprocessableEntity, .unsupportedMediaType: return (.badRequest, PublicError.badForm.message)
            case .payloadTooLarge: return (.payloadTooLarge, PublicError.tooLarge.message)
            case .methodNotAllowed: return (.methodNotAllowed, "That action isn't available here.")
            case let status where status.code < 500: return (status, "That request couldn't be completed.")
            default: return (.internalServerError, "Something went wrong on our side. Please try again in a moment.")
            }
        case is DecodingError:
            return (.badRequest, PublicError.badForm.message)
        default:
            return (.internalServerError, "Something went wrong on our side. Please try again in a moment.")
        }
    }
}
