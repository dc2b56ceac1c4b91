from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _holders_of(user) -> frozenset[int]:
    from approvals.selectors import holder_ids_acting_for

    return holder_ids_acting_for(user)


class ApprovalsConfig(AppConfig):
    """Licence kinds, holders, electronic certificates (signed, verifiable by anyone), applications."""

    name = "approvals"
    verbose_name = _("Certificate-free services")

    def ready(self) -> None:
        from approvals import selectors
        from approvals.applications import APPLICATION_WORKFLOW, MATERIAL_FILES
        from approvals.models import Application, Certificate, Holder
        from approvals.services import CERTIFICATE_WORKFLOW
        from core.audiences import audience_register
        from core.files import FileKind, Images, Pdfs, file_kind_register
        from core.restriction import visibility_register, visible_through
        from core.workflow import workflow_register

        # A holder's changes reach every account acting for it now (not the district-wide roles: the issuing
        # department's scope, on every certificate change, is what they oversee).
        audience_register("holder", members_of=_holders_of, overseen=False)
        visibility_register(Certificate, visible_through(selectors.certificates_visible_to))
        visibility_register(Holder, visible_through(selectors.holders_visible_to))
        visibility_register(Application, visible_through(selectors.applications_visible_to))
        workflow_register(CERTIFICATE_WORKFLOW)
        workflow_register(APPLICATION_WORKFLOW)
        # An application's uploaded materials: PDFs and pictures, judged by their content; seen by whoever sees
        # the application (selectors.material_uploads_visible_to).
        file_kind_register(FileKind(name=MATERIAL_FILES, model="approvals.MaterialUpload", variants={"file": "name"},
                                    accepts=(Pdfs(), Images()), visibility=selectors.material_uploads_visible_to,
                                    attachment=True))
