"""HSDS 3.0 API: the whole federation's public services, read-only and open to everyone, and the
tabular (CSV data package) export; plus the manager's import of such a package into the own catalogue.

    GET  /hsds/                               version, profile, openapi_url
    GET  /hsds/services                       page of services (search and HSDS filters)
    GET  /hsds/services/{id}                  fully nested service
    GET  /hsds/organizations[/{id}]
    GET  /hsds/service_at_locations[/{id}]
    GET  /hsds/taxonomies[/{id}]
    GET  /hsds/taxonomy_terms[/{id}]
    GET  /hsds/export.zip                     HSDS tabular data package
    POST /api/v1/import                       (manager) a data package becomes the own drafts or services
"""
from __future__ import annotations

import json
from datetime import timezone

from flask import Response, request, url_for
from flask_smorest import Blueprint
from marshmallow import fields, validate, validates_schema

from services.kernel.auth import Role, current_actor, requires
from services.kernel.errors import Invalid
from services.kernel.schemas import StrictSchema, Timestamp, ValidationError
from services.kernel.http_app import new_uow

from ..profile import LANGS, PROFILE_URI
from ..publishing.domain import NEW
from . import importer, service as hsds_service
from .objects import HSDS_VERSION

bp = Blueprint("hsds", __name__, url_prefix="/hsds",
               description="Human Services Data Specification 3.0 (Finnish profile): the federation's public "
                           "services, read-only, in Finnish, Swedish or English")
import_bp = Blueprint("hsds-import", __name__, url_prefix="/api/v1",
                      description="Import an HSDS 3.0 tabular data package into the organisation's catalogue")
MAX_PER_PAGE = 100
NDJSON = "application/x-ndjson"


class Lang(StrictSchema):
    lang = fields.String(load_default="fi", validate=validate.OneOf(LANGS),
                         metadata={"description": "language of texts; a text missing in it is given in Finnish"})


class PageArgs(Lang):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "ndjson")),
                           metadata={"description": "ndjson: every result, one per line, without pages"})
    search = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "free text"})


class FilterArgs(StrictSchema):
    taxonomy_term_id = fields.UUID(metadata={"description": "services with this profile term (or a narrower one)"})
    taxonomy_id = fields.UUID(metadata={"description": "services with any term of this taxonomy"})
    organization_id = fields.UUID(metadata={"description": "HSDS id of the providing organisation"})
    modified_after = Timestamp(default_timezone=timezone.utc,
                               metadata={"description": "changed at or after (ISO 8601; UTC if no offset)"})


class ServiceArgs(PageArgs, FilterArgs):
    full = fields.Boolean(load_default=False, metadata={"description": "fully nested services"})
    minimal = fields.Boolean(load_default=False, metadata={"description": "only id, name, status, last_modified"})

    @validates_schema
    def _one_shape(self, data, **kwargs):
        if data.get("full") and data.get("minimal"):
            raise ValidationError("Ask for full or minimal services, not both.", "minimal")


class ServiceAtLocationArgs(PageArgs, FilterArgs):
    full = fields.Boolean(load_default=False, metadata={"description": "with hours and the nested service"})


class OrganizationArgs(PageArgs):
    full = fields.Boolean(load_default=False, metadata={"description": "with services and locations"})
    full_service = fields.Boolean(load_default=False, metadata={"description": "fully nested services"})


class OrganizationOne(Lang):
    full_service = fields.Boolean(load_default=False, metadata={"description": "fully nested services"})


class TermArgs(PageArgs):
    taxonomy_id = fields.UUID()
    parent_id = fields.UUID(metadata={"description": "the narrower terms of this term"})
    top_only = fields.Boolean(load_default=False, metadata={"description": "only terms without a parent"})


class ExportArgs(Lang, FilterArgs):
    search = fields.String(validate=validate.Length(min=1, max=200))


class ImportArgs(StrictSchema):
    status = fields.String(load_default="draft", validate=validate.OneOf(NEW),
                           metadata={"description": "draft (default) keeps the imported services unpublished"})
    organization_id = fields.UUID(metadata={"description": "import only this organisation's services "
                                                           "(HSDS id) from the package"})


def _filters(args) -> hsds_service.Filters:
    return hsds_service.Filters(args.get("search"), args.get("taxonomy_term_id"), args.get("taxonomy_id"),
                                args.get("organization_id"), args.get("modified_after"))


def _listing(args, page_of):
    """A page in the HSDS envelope, or (format=ndjson) every result, one JSON object per line."""
    if args["format"] == "ndjson":
        items = page_of(1, None).contents
        return Response("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), mimetype=NDJSON)
    return page_of(args["page"], args["per_page"]).envelope()


@bp.get("/")
@bp.response(200)
def root():
    """What this API is: HSDS version, profile and the OpenAPI description."""
    return {"version": HSDS_VERSION, "profile": PROFILE_URI,
            "openapi_url": url_for("api-docs.openapi_json", _external=True)}


@bp.get("/services")
@bp.arguments(ServiceArgs, location="query")
@bp.response(200)
def list_services(args):
    """Services of the whole federation (temporarily closed ones too, with their alert)."""
    shape = "full" if args["full"] else "minimal" if args["minimal"] else "list"
    if args["format"] == "ndjson":
        items = hsds_service.each_service(new_uow, _filters(args), args["lang"], shape)
        return Response("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), mimetype=NDJSON)
    return hsds_service.list_services(new_uow, _filters(args), args["lang"], shape, args["page"],
                                      args["per_page"]).envelope()


@bp.get("/services/<uuid:service_id>")
@bp.arguments(Lang, location="query")
@bp.response(200)
def get_service(args, service_id):
    """A fully nested service."""
    return hsds_service.get_service(new_uow, service_id, args["lang"])


@bp.get("/organizations")
@bp.arguments(OrganizationArgs, location="query")
@bp.response(200)
def list_organizations(args):
    return _listing(args, lambda page, per_page: hsds_service.list_organizations(
        new_uow, args.get("search"), args["lang"], args["full"], args["full_service"], page, per_page))


@bp.get("/organizations/<uuid:organization_id>")
@bp.arguments(OrganizationOne, location="query")
@bp.response(200)
def get_organization(args, organization_id):
    """An organisation with its services (one-to-one fields, or fully nested with full_service) and locations."""
    return hsds_service.get_organization(new_uow, organization_id, args["lang"], args["full_service"])


@bp.get("/service_at_locations")
@bp.arguments(ServiceAtLocationArgs, location="query")
@bp.response(200)
def list_services_at_locations(args):
    return _listing(args, lambda page, per_page: hsds_service.list_services_at_locations(
        new_uow, _filters(args), args["lang"], args["full"], page, per_page))


@bp.get("/service_at_locations/<uuid:sal_id>")
@bp.arguments(Lang, location="query")
@bp.response(200)
def get_service_at_location(args, sal_id):
    return hsds_service.get_service_at_location(new_uow, sal_id, args["lang"])


@bp.get("/taxonomies")
@bp.arguments(PageArgs, location="query")
@bp.response(200)
def list_taxonomies(args):
    return _listing(args, lambda page, per_page: hsds_service.list_taxonomies(
        args.get("search"), args["lang"], page, per_page))


@bp.get("/taxonomies/<uuid:taxonomy_id>")
@bp.arguments(Lang, location="query")
@bp.response(200)
def get_taxonomy(args, taxonomy_id):
    return hsds_service.get_taxonomy(taxonomy_id, args["lang"])


@bp.get("/taxonomy_terms")
@bp.arguments(TermArgs, location="query")
@bp.response(200)
def list_taxonomy_terms(args):
    return _listing(args, lambda page, per_page: hsds_service.list_taxonomy_terms(
        args.get("search"), args.get("taxonomy_id"), args.get("parent_id"), args["top_only"], args["lang"],
        page, per_page))


@bp.get("/taxonomy_terms/<uuid:term_id>")
@bp.arguments(Lang, location="query")
@bp.response(200)
def get_taxonomy_term(args, term_id):
    return hsds_service.get_taxonomy_term(term_id, args["lang"])


@bp.get("/export.zip")
@bp.arguments(ExportArgs, location="query")
@bp.response(200, content_type="application/zip")
def export(args):
    """The matching services as an HSDS 3.0 tabular data package: datapackage.json and one CSV per table."""
    name, data = hsds_service.export(new_uow, _filters(args), args["lang"])
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@import_bp.post("/import")
@requires(Role.MANAGER)
@import_bp.arguments(ImportArgs, location="query")
@import_bp.response(201)
@import_bp.doc(security=[{"bearer": []}], requestBody={
    "required": True, "description": "An HSDS 3.0 tabular data package (zip), e.g. from /hsds/export.zip",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary"}}}}}})
def import_package(args):
    """Import an HSDS tabular data package: its services and their locations become the organisation's own.

    All or nothing: rows that do not map to the profile are listed in a 422 problem
    (`errors`: file, row (line in the CSV file), id, reason). Texts are taken as Finnish."""
    return importer.import_package(new_uow, current_actor(), _upload(), args["status"], args.get("organization_id"))


def _upload() -> bytes:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Invalid("Send the package as the form field 'file' (or as an application/zip body).",
                          code="no-package")
        return upload.read()
    data = request.get_data()
    if not data:
        raise Invalid("Send the package as an application/zip body (or the form field 'file').", code="no-package")
    return data
