"""The HSDS 3.0 tabular form: a zip with a Frictionless datapackage.json and one CSV per table.

Tables, file names and columns (in order) are those of HSDS 3.0's
tabular.json. Writing flattens fully nested services (objects.py); reading
gives each table's rows with their line numbers, for the importer.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib

from ..profile import PROFILE_URI
from .objects import HSDS_VERSION

# table -> (file, columns, required columns)
TABLES = {
    "organization": ("organizations.csv", "id name alternate_name description email website tax_status tax_id "
                     "year_incorporated legal_status logo uri parent_organization_id", "id name description"),
    "service": ("services.csv", "id organization_id program_id name alternate_name description url email status "
                "interpretation_services application_process fees_description wait_time fees accreditations "
                "eligibility_description minimum_age maximum_age assured_date assurer_email licenses alert "
                "last_modified", "id name status"),
    "location": ("locations.csv", "id location_type url organization_id name alternate_name description "
                 "transportation latitude longitude external_identifier external_identifier_type", "id location_type"),
    "service_at_location": ("service_at_location.csv", "id service_id location_id description", "id"),
    "address": ("addresses.csv", "id location_id attention address_1 address_2 city region state_province "
                "postal_code country address_type",
                "id address_1 city state_province postal_code country address_type"),
    "phone": ("phones.csv", "id location_id service_id organization_id contact_id service_at_location_id number "
              "extension type description", "id number"),
    "schedule": ("schedules.csv", "id service_id location_id service_at_location_id valid_from valid_to dtstart "
                 "timezone until count wkst freq interval byday byweekno bymonthday byyearday description opens_at "
                 "closes_at schedule_link attending_type notes", "id"),
    "service_area": ("service_areas.csv", "id service_id name description extent extent_type uri", "id"),
    "language": ("languages.csv", "id service_id location_id phone_id name code note", "id"),
    "cost_option": ("cost_options.csv", "id service_id valid_from valid_to option currency amount amount_description",
                    "id"),
    "taxonomy": ("taxonomies.csv", "id name description uri version", "id name description"),
    "taxonomy_term": ("taxonomy_terms.csv", "id code name description parent_id taxonomy language taxonomy_id "
                      "term_uri", "id name description"),
    "attribute": ("attributes.csv", "id link_id taxonomy_term_id link_type link_entity value", "id"),
    "contact": ("contacts.csv", "id organization_id service_id service_at_location_id location_id name title "
                "department email", "id"),
    "accessibility": ("accessibility.csv", "id location_id description details url", "id"),
}
COLUMNS = {t: spec[1].split() for t, spec in TABLES.items()}
TYPES = {**dict.fromkeys(("year_incorporated", "minimum_age", "maximum_age", "latitude", "longitude", "extension",
                          "timezone", "count", "interval", "amount"), "number"),
         **dict.fromkeys(("assured_date", "valid_from", "valid_to", "dtstart", "until"), "date"),
         "opens_at": "time", "closes_at": "time", "last_modified": "datetime"}
EMAILS = ("email", "assurer_email")
URIS = ("website", "url", "uri", "schedule_link", "term_uri")
MAX_UNZIPPED = 50 * 1024 * 1024


def field_type(table: str, column: str) -> dict:
    f = {"name": column, "type": TYPES.get(column, "string")}
    if column == "id" or column.endswith("_id"):
        f["format"] = "uuid"
    elif column in EMAILS:
        f["format"] = "email"
    elif column in URIS and (table, column) != ("service_area", "uri"):
        f["format"] = "uri"
    if column in TABLES[table][2].split():
        f["constraints"] = {"required": True, **({"unique": True} if column == "id" else {})}
    elif column == "code" and table == "taxonomy_term":
        f["constraints"] = {"unique": True}
    return f


def datapackage(name: str, title: str, created: str) -> dict:
    return {
        "profile": "tabular-data-package", "name": name, "title": title, "created": created,
        "description": f"Human Services Data Specification {HSDS_VERSION}, Yhdistämö Finnish profile ({PROFILE_URI})",
        "resources": [{"name": t, "path": path, "profile": "tabular-data-resource", "format": "csv",
                       "mediatype": "text/csv", "encoding": "utf-8",
                       "schema": {"fields": [field_type(t, c) for c in COLUMNS[t]], "primaryKey": ["id"]}}
                      for t, (path, _, _) in TABLES.items()],
    }


def flatten(services: list[dict], organizations: list[dict], taxonomies: list[dict], terms: list[dict]) -> dict:
    """Rows per table from fully nested services (each row once, however many services share it)."""
    rows: dict[str, dict[str, dict]] = {t: {} for t in TABLES}

    def put(table, obj, **links):
        rows[table].setdefault(obj["id"], {**obj, **links})

    for o in organizations:
        put("organization", o)
    for t in taxonomies:
        put("taxonomy", t)
    for t in terms:
        put("taxonomy_term", t)
    for s in services:
        put("service", s)
        for ph in s.get("phones", []):
            put("phone", ph)
        for c in s.get("contacts", []):
            put("contact", c)
            for ph in c.get("phones", []):
                put("phone", ph)
        for table, key in (("schedule", "schedules"), ("service_area", "service_areas"), ("language", "languages"),
                           ("cost_option", "cost_options"), ("attribute", "attributes")):
            for obj in s.get(key, []):
                put(table, obj)
        for sal in s.get("service_at_locations", []):
            put("service_at_location", sal)
            for sch in sal.get("schedules", []):
                put("schedule", sch)
            loc = sal["location"]
            put("location", loc)
            for table, key in (("address", "addresses"), ("accessibility", "accessibility"),
                               ("attribute", "attributes")):
                for obj in loc.get(key, []):
                    put(table, obj)
    return {t: list(r.values()) for t, r in rows.items()}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_csv(table: str, rows: list[dict]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMNS[table])
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in COLUMNS[table]])
    return out.getvalue().encode("utf-8")


def write_zip(tables: dict, descriptor: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("datapackage.json", json.dumps(descriptor, ensure_ascii=False, indent=2))
        for t, (path, _, _) in TABLES.items():
            z.writestr(path, to_csv(t, tables.get(t, [])))
    return buf.getvalue()


class Unreadable(ValueError):
    """The upload is not an HSDS tabular package this reader understands."""


def read_zip(data: bytes) -> dict[str, list[tuple[int, dict]]]:
    """(line number, row) per table; empty cells are left out. Tables the package lacks are empty."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Unreadable("The upload is not a zip file.")
    with z:
        infos = {i.filename.rsplit("/", 1)[-1]: i for i in z.infolist() if not i.is_dir()}
        if sum(i.file_size for i in infos.values()) > MAX_UNZIPPED:
            raise Unreadable(f"The package unpacks to more than {MAX_UNZIPPED // (1024 * 1024)} MiB.")
        paths = {t: spec[0] for t, spec in TABLES.items()}
        if "datapackage.json" in infos:
            try:
                descriptor = json.loads(_read(z, infos["datapackage.json"]).decode("utf-8-sig"))
                paths.update({r["name"]: r["path"].rsplit("/", 1)[-1] for r in descriptor.get("resources", [])
                              if isinstance(r, dict) and isinstance(r.get("name"), str)
                              and isinstance(r.get("path"), str)})
            except (ValueError, AttributeError, TypeError):
                raise Unreadable("datapackage.json is not a JSON data package descriptor.")
        if paths["service"] not in infos:
            raise Unreadable(f"The package has no {paths['service']}.")
        tables = {}
        for t, path in paths.items():
            if t not in TABLES:
                continue
            tables[t] = _rows(_read(z, infos[path]), path) if path in infos else []
        return tables


def _read(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return z.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as e:
        raise Unreadable(f"{info.filename} cannot be unpacked: {e}")


def _rows(raw: bytes, path: str) -> list[tuple[int, dict]]:
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable(f"{path} is not UTF-8 text.")
    try:
        reader = csv.DictReader(io.StringIO(content, newline=""))
        out = []
        for r in reader:
            row = {k.strip(): v.strip() for k, v in r.items()
                   if isinstance(k, str) and isinstance(v, str) and v.strip()}
            out.append((reader.line_num, row))
        return out
    except csv.Error as e:
        raise Unreadable(f"{path}: {e}")
