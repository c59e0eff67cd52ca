"""How a clinic's export maps onto Waypoint's canonical fields.

A mapping file (TOML, every part optional) says what the header recognition cannot guess::

    [columns]            # canonical field = header in the file
    patient_id = "Client ID"
    session_date = "Appointment Date"
    phq9 = "PHQ-9 Total"
    [dates]
    format = "%m/%d/%Y"
    [values.status]      # value in the file = canonical value
    "Show" = "attended"
    [values.discharge_reason]
    "Completed treatment" = "planned"
    [file]
    encoding = "cp1250"  # the text encoding, when neither UTF-8 nor Windows-1252

Without a mapping, common header spellings ("Client ID", "Provider", "Date of Service",
"PHQ-9 Total", ...) and common values ("No Show", "DNA", "Late Cancellation", ...) are recognised.
"""
from __future__ import annotations

import codecs
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping as TMapping

from .errors import WaypointError
from .scales import Scale

# Canonical fields of a wide session log, in the order they are shown.
SESSION_FIELDS = (
    "patient_id", "clinician_id", "session_date", "session_time", "status", "episode_id",
    "session_type", "modality", "site", "referral_date", "discharge_reason",
)
REQUIRED_SESSION_FIELDS = ("patient_id", "clinician_id", "session_date", "status")
# A long measurement file: one row per score.
MEASUREMENT_FIELDS = ("patient_id", "date", "measure", "score")

STATUSES = ("attended", "no_show", "late_cancel", "cancelled", "scheduled")
DISCHARGE_REASONS = ("planned", "dropout", "transferred", "other")

FIELD_LABELS = {
    "patient_id": "patient ID", "clinician_id": "clinician ID", "session_date": "session date",
    "session_time": "session time", "status": "status", "episode_id": "episode ID",
    "session_type": "session type", "modality": "modality", "site": "site",
    "referral_date": "referral date", "discharge_reason": "discharge reason",
    "date": "date", "measure": "measure", "score": "score",
}


def norm(text: str) -> str:
    """Header and value normal form: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


# Header spellings recognised without a mapping (compared in normal form).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "patient_id": ("patientid", "patient", "clientid", "client", "mrn", "patientnumber", "clientnumber",
                   "patientno", "clientno", "recordnumber", "personid", "serviceuserid", "nhsnumber"),
    "clinician_id": ("clinicianid", "clinician", "provider", "providerid", "providername", "therapist",
                     "therapistid", "counsellor", "counselor", "practitioner", "practitionerid", "staffid",
                     "staff", "cliniciancode"),
    "session_date": ("sessiondate", "date", "appointmentdate", "apptdate", "dateofservice", "servicedate",
                     "visitdate", "dos", "appointmentday", "contactdate"),
    "session_time": ("sessiontime", "time", "appointmenttime", "appttime", "starttime", "visittime"),
    "status": ("status", "attendance", "appointmentstatus", "apptstatus", "attendancestatus",
               "sessionstatus", "attended", "outcomeofappointment"),
    "episode_id": ("episodeid", "episode", "referralid", "caseid", "courseid", "episodenumber", "episodeofcareid"),
    "session_type": ("sessiontype", "appointmenttype", "appttype", "contacttype", "type", "visittype"),
    "modality": ("modality", "deliverymode", "mode", "contactmode", "deliverymethod", "medium"),
    "site": ("site", "program", "programme", "location", "service", "clinic", "team"),
    "referral_date": ("referraldate", "datereferred", "referred", "referralreceived", "referralreceiveddate"),
    "discharge_reason": ("dischargereason", "endingreason", "reasonforending", "discharge", "closurereason",
                         "endreason", "reasonfordischarge", "endingtype"),
}
MEASUREMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "patient_id": HEADER_ALIASES["patient_id"],
    "date": ("date", "measuredate", "measurementdate", "assessmentdate", "scoredate", "sessiondate",
             "dateofservice", "completeddate", "datecompleted"),
    "measure": ("measure", "scale", "instrument", "questionnaire", "measurename", "outcomemeasure", "tool"),
    "score": ("score", "value", "total", "totalscore", "result"),
}

# Values recognised without a mapping (compared in normal form).
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "status": {
        "attended": "attended", "attend": "attended", "show": "attended", "shows": "attended",
        "showed": "attended", "arrived": "attended", "kept": "attended", "completed": "attended",
        "seen": "attended", "present": "attended", "checkedout": "attended", "yes": "attended",
        "noshow": "no_show", "noshowed": "no_show", "dna": "no_show", "didnotattend": "no_show",
        "missed": "no_show", "failedtoattend": "no_show", "fta": "no_show", "no": "no_show",
        "latecancel": "late_cancel", "latecancellation": "late_cancel", "latecancelled": "late_cancel",
        "latecanceled": "late_cancel", "lc": "late_cancel", "cancelledlate": "late_cancel",
        "canceledlate": "late_cancel",
        "cancelled": "cancelled", "canceled": "cancelled", "cancel": "cancelled", "cancellation": "cancelled",
        "cancelledbyclinic": "cancelled", "cancelledbyclient": "cancelled", "cancelledbypatient": "cancelled",
        "scheduled": "scheduled", "booked": "scheduled", "pending": "scheduled", "planned": "scheduled",
        "future": "scheduled",
    },
    "discharge_reason": {
        "planned": "planned", "completed": "planned", "completedtreatment": "planned",
        "treatmentcompleted": "planned", "mutuallyagreed": "planned", "mutual": "planned",
        "goalsmet": "planned", "plannedending": "planned", "plannedend": "planned",
        "dropout": "dropout", "droppedout": "dropout", "unplanned": "dropout", "didnotreturn": "dropout",
        "lostcontact": "dropout", "losttofollowup": "dropout", "disengaged": "dropout",
        "unplannedending": "dropout", "clientwithdrew": "dropout",
        "transferred": "transferred", "transfer": "transferred", "referredon": "transferred",
        "referredelsewhere": "transferred", "steppedup": "transferred", "steppeddown": "transferred",
        "other": "other", "moved": "other", "deceased": "other",
    },
}


@dataclass(frozen=True)
class Mapping:
    """What a mapping file says: columns (canonical field -> header), a date format, value maps,
    and the file's text encoding (a Python codec name; None: UTF-8, else Windows-1252)."""
    columns: dict[str, str | None] = field(default_factory=dict)
    date_format: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    origin: str = "mapping"
    encoding: str | None = None

    def value_map(self, field_name: str) -> dict[str, str]:
        """Normal-form value -> canonical value: the built-in spellings, then the mapping's own."""
        out = dict(VALUE_ALIASES.get(field_name, {}))
        out.update({norm(k): v for k, v in self.values.get(field_name, {}).items()})
        return out


def load_mapping(source: "Mapping | str | Path | TMapping[str, Any] | None") -> Mapping:
    """A Mapping from a TOML file path, a dict (the TOML's form, or a flat {field: header}), or None."""
    if source is None:
        return Mapping()
    if isinstance(source, Mapping):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise WaypointError(f"{path}: mapping file not found.") from None
        except UnicodeDecodeError:
            raise WaypointError(f"{path}: not a mapping file (not UTF-8 text). A mapping is a small TOML text "
                                "file; see the mapping example in the README.") from None
        except tomllib.TOMLDecodeError as exc:
            raise WaypointError(f"{path}: not valid TOML ({exc}). See the mapping example in the README.") from None
        return _from_dict(data, str(path))
    data = dict(source)
    if not set(data) & {"columns", "dates", "values", "file"}:
        data = {"columns": data}  # the dashboard's flat {field: header}
    return _from_dict(data, "mapping")


def _from_dict(data: dict[str, Any], origin: str) -> Mapping:
    unknown = set(data) - {"columns", "dates", "values", "file"}
    if unknown:
        raise WaypointError(f"{origin}: unknown section [{sorted(unknown)[0]}]; a mapping has [columns], "
                            "[dates], [values.FIELD] and [file] sections.")
    columns = data.get("columns", {}) or {}
    dates = data.get("dates", {}) or {}
    values = data.get("values", {}) or {}
    file = data.get("file", {}) or {}
    for name, table in (("columns", columns), ("dates", dates), ("values", values), ("file", file)):
        if not isinstance(table, dict):
            raise WaypointError(f"{origin}: [{name}] must be a table of key = value lines.")
    fmt = dates.get("format")
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        raise WaypointError(f'{origin}: [dates] format must be a strftime pattern such as "%d/%m/%Y", got {fmt!r}.')
    if fmt is not None:
        _check_date_format(fmt, origin)
    for field_name, table in values.items():
        if field_name not in ("status", "discharge_reason") or not isinstance(table, dict):
            raise WaypointError(f"{origin}: [values.{field_name}] is not supported; use [values.status] or "
                                "[values.discharge_reason].")
        allowed = STATUSES if field_name == "status" else DISCHARGE_REASONS
        for raw, canonical in table.items():
            if canonical not in allowed:
                raise WaypointError(f'{origin}: [values.{field_name}] "{raw}" = "{canonical}": expected one of '
                                    f"{', '.join(allowed)}.")
    cols = {str(k): (None if v in (None, "") else str(v)) for k, v in columns.items()}
    return Mapping(columns=cols, date_format=fmt,
                   values={k: {str(a): str(b) for a, b in v.items()} for k, v in values.items()}, origin=origin,
                   encoding=_file_encoding(file, origin))


def _file_encoding(file: dict[str, Any], origin: str) -> str | None:
    """[file] encoding, as Python's codec name ("Shift_JIS" -> "shift_jis"); None when not given."""
    unknown = set(file) - {"encoding"}
    if unknown:
        raise WaypointError(f"{origin}: unknown key {sorted(unknown)[0]!r} in [file]; it has encoding only, "
                            'e.g. encoding = "cp1250".')
    name = file.get("encoding")
    if name in (None, ""):
        return None
    try:
        info = codecs.lookup(str(name))
    except LookupError:
        info = None
    if info is None or not isinstance(name, str) or getattr(info, "_is_text_encoding", True) is False:
        raise WaypointError(f"{origin}: [file] encoding {name!r} is not a text encoding Waypoint knows. Use a "
                            'name such as "utf-8", "cp1252" (Windows Western), "cp1250" (Central European), '
                            '"cp932" (Japanese Shift-JIS), "gb18030" (Chinese) or "cp949" (Korean).')
    return info.name


def _check_date_format(fmt: str, origin: str) -> None:
    """Stop on a pattern the date reader (DuckDB's strptime) does not know, e.g. "%Q" or a trailing "%"."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("SELECT try_strptime('2000-01-01', ?)", [fmt]).fetchall()
    except duckdb.Error as exc:
        why = str(exc).splitlines()[0].split(f"{fmt}: ", 1)[-1]
        raise WaypointError(f'{origin}: [dates] format "{fmt}" is not a date pattern Waypoint can read ({why}). '
                            'Use codes such as %d (day), %m (month), %Y (year), e.g. "%d/%m/%Y".') from None
    finally:
        con.close()


@dataclass(frozen=True)
class ScoreColumn:
    scale: str
    item: int          # 0 = the total score
    index: int         # position of the column in the file


@dataclass(frozen=True)
class Resolved:
    """Which column of the file holds which canonical field."""
    kind: str                          # sessions | measurements
    fields: dict[str, int]             # canonical field -> column index
    scores: tuple[ScoreColumn, ...]    # wide files only
    ignored: tuple[str, ...]           # headers nothing was taken from


def _scale_keys(scales: dict[str, Scale]) -> dict[str, str]:
    """Normal-form spellings of each scale's total: phq9, "PHQ-9", "PHQ-9 Total", "PHQ9 score"..."""
    keys: dict[str, str] = {}
    for sid, scale in scales.items():
        for base in {norm(sid), norm(scale.name)}:
            for suffix in ("", "total", "score", "totalscore", "sum"):
                keys[base + suffix] = sid
    return keys


def _item_match(header: str, scales: dict[str, Scale]) -> tuple[str, int] | None:
    """phq9_item9, "PHQ-9 Item 9", "PHQ9 Q9" -> ("phq9", 9)."""
    n = norm(header)
    for sid, scale in scales.items():
        for base in {norm(sid), norm(scale.name)}:
            m = re.fullmatch(re.escape(base) + r"(?:item|q|i|question)(\d{1,2})", n)
            if m:
                return sid, int(m.group(1))
    return None


def resolve(headers: list[str], mapping: Mapping, scales: dict[str, Scale], file_label: str) -> Resolved:
    """Match the file's headers to canonical fields: the mapping first, then the known spellings."""
    index_of: dict[str, int] = {}
    for i, h in enumerate(headers):
        index_of.setdefault(h, i)
    normal_index: dict[str, int] = {}
    for i, h in enumerate(headers):
        normal_index.setdefault(norm(h), i)

    explicit: dict[str, int] = {}
    for canonical, header in mapping.columns.items():
        if header is None:
            continue
        if header in index_of:
            explicit[canonical] = index_of[header]
        elif norm(header) in normal_index:
            explicit[canonical] = normal_index[norm(header)]
        else:
            shown = ", ".join(f'"{h}"' for h in headers[:12]) + (" …" if len(headers) > 12 else "")
            raise WaypointError(
                f'{file_label}: {mapping.origin} maps {canonical} to the column "{header}", but the file has no '
                f"such column (its columns: {shown}). Fix the header name in [columns].")
    switched_off = {c for c, h in mapping.columns.items() if h is None}
    used = set(explicit.values())

    def pick(aliases: dict[str, tuple[str, ...]]) -> dict[str, int]:
        found = dict(explicit)
        for canonical, names in aliases.items():
            if canonical in found or canonical in switched_off:
                continue
            for name in names:
                i = normal_index.get(name)
                if i is not None and i not in used and i not in found.values():
                    found[canonical] = i
                    break
        return found

    # A long measurement file has a measure and a score column and no status.
    long_fields = pick(MEASUREMENT_ALIASES)
    session_fields = pick(HEADER_ALIASES)
    is_long = ("measure" in long_fields and "score" in long_fields and "status" not in session_fields)
    if is_long:
        fields = {k: v for k, v in long_fields.items() if k in MEASUREMENT_FIELDS}
        missing = [f for f in MEASUREMENT_FIELDS if f not in fields]
        if missing:
            raise _missing(missing[0], headers, MEASUREMENT_ALIASES, file_label, mapping)
        taken = set(fields.values())
        ignored = tuple(h for i, h in enumerate(headers) if i not in taken)
        return Resolved("measurements", fields, (), ignored)

    fields = {k: v for k, v in session_fields.items() if k in SESSION_FIELDS}
    for f in REQUIRED_SESSION_FIELDS:
        if f not in fields:
            raise _missing(f, headers, HEADER_ALIASES, file_label, mapping)
    taken = set(fields.values())
    scores: list[ScoreColumn] = []
    totals = _scale_keys(scales)
    seen: set[tuple[str, int]] = set()
    for canonical, i in explicit.items():  # scales and items named in [columns]
        if canonical in scales:
            scores.append(ScoreColumn(canonical, 0, i))
        elif (m := re.fullmatch(r"([a-z0-9]+)_item(\d+)", canonical)) and m.group(1) in scales:
            scores.append(ScoreColumn(m.group(1), int(m.group(2)), i))
        elif canonical not in SESSION_FIELDS:
            raise WaypointError(
                f"{file_label}: {mapping.origin} [columns] has {canonical}, which is neither a session field "
                f"({', '.join(SESSION_FIELDS)}) nor a scale in the registry ({', '.join(scales)}), "
                "nor an item column like phq9_item9.")
        taken.add(i)
    seen = {(s.scale, s.item) for s in scores}
    found_by_name: dict[tuple[str, int], str] = {}
    for i, h in enumerate(headers):
        if i in taken:
            continue
        n = norm(h)
        hit: tuple[str, int] | None = (totals[n], 0) if n in totals else _item_match(h, scales)
        if hit and hit in found_by_name:
            # two columns hold the same score (e.g. "phq9" and "PHQ-9 Total"): taking one and
            # leaving the other would lose the scores only the other has, so ask which
            column = hit[0] + ("" if hit[1] == 0 else f"_item{hit[1]}")
            raise WaypointError(
                f'{file_label}: two columns hold {scales[hit[0]].name}{"" if hit[1] == 0 else f" item {hit[1]}"}: '
                f'"{found_by_name[hit]}" and "{h}". Name the one to use in a mapping file: [columns] '
                f'{column} = "{h}" (the other is then not used), and run again with --mapping MAP.toml.')
        if hit and hit not in seen and hit[0] + ("" if hit[1] == 0 else f"_item{hit[1]}") not in switched_off:
            scores.append(ScoreColumn(hit[0], hit[1], i))
            seen.add(hit)
            taken.add(i)
            found_by_name[hit] = h
    ignored = tuple(h for i, h in enumerate(headers) if i not in taken)
    return Resolved("sessions", fields, tuple(scores), ignored)


def _missing(canonical: str, headers: list[str], aliases: dict[str, tuple[str, ...]], file_label: str,
             mapping: Mapping) -> WaypointError:
    label = FIELD_LABELS.get(canonical, canonical)
    shown = ", ".join(f'"{h}"' for h in headers[:12]) + (" …" if len(headers) > 12 else "")
    return WaypointError(
        f"{file_label}: no {label} column. The file's columns are {shown or '(none)'}; Waypoint looks for "
        f"{canonical} or a common spelling of it. Name the column in a mapping file: "
        f'[columns] {canonical} = "Your header", then run again with --mapping MAP.toml.')


def date_pattern_label(fmt: str) -> str:
    """'%d/%m/%Y' -> 'DD/MM/YYYY' (for messages)."""
    out = fmt
    for a, b in (("%Y", "YYYY"), ("%y", "YY"), ("%m", "MM"), ("%d", "DD"), ("%H", "hh"), ("%M", "mm"),
                 ("%S", "ss"), ("%b", "Mon"), ("%B", "Month"), ("%I", "hh"), ("%p", "AM/PM")):
        out = out.replace(a, b)
    return out
