import CaseTalkCore
import CaseTalkViews
import Vapor

/// The case's **Attachments** tab (SPEC §8): for a member of the case, the files of their own
/// Patient Talk, never a colleague's; one file full screen with Previous and Next. Anyone not on
/// the case, and any file not in the member's own list, gets 404.
struct CaseAttachmentsController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("cases", ":caseID", "attachments", use: list)
        routes.get("cases", ":caseID", "attachments", ":fileID", use: one)
    }

    private func gallery(_ req: Request) async throws -> (PatientCase, [GalleryItem], Paths.FileFilter?, Paths.FileSort?) {
        let (staff, patientCase) = try await req.memberCase()
        let show = req.query[String.self, at: "show"].flatMap(Paths.FileFilter.init(rawValue:))
        let sort = req.query[String.self, at: "sort"].flatMap(Paths.FileSort.init(rawValue:))
        let items = try await Attachments.gallery(caseID: try patientCase.requireID(), memberID: staff.id, show: show, sort: sort, zone: staff.zone,
                                                  sealer: req.caseTalk.sealer, on: req.db)
        return (patientCase, items, show, sort)
    }

    func list(req: Request) async throws -> Response {
        let (patientCase, items, show, sort) = try await gallery(req)
        return req.page(CaseAttachmentsView.render(CaseAttachmentsModel(
            chrome: try req.staffChrome("Attachments · \(patientCase.patientName)"), header: CaseViews.header(patientCase, tab: .attachments),
            items: items, show: show, sort: sort)))
    }

    func one(req: Request) async throws -> Response {
        let (patientCase, items, show, sort) = try await gallery(req)
        guard let fileID = req.parameters.get("fileID", as: UUID.self), let index = items.firstIndex(where: { $0.file.id == fileID }) else {
            throw PublicError.notFound
        }
        return req.page(CaseAttachmentView.render(CaseAttachmentModel(
            chrome: try req.staffChrome("\(items[index].file.name) · Attachments"), header: CaseViews.header(patientCase, tab: .attachments),
            item: items[index], position: index + 1, count: items.count,
            previous: index > 0 ? items[index - 1].file.id : nil, next: index + 1 < items.count ? items[index + 1].file.id : nil,
            show: show, sort: sort)))
    }
}
