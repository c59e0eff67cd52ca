"""Who may see what: viewers, roles, the data scope, and small-number suppression.

A clinic config file (the same TOML as ``[settings]``, ``WAYPOINT_CONFIG``) maps signed-in users to
a role and, for clinicians, their clinician_id::

    [access]
    suppress_below = 5                       # comparison figures resting on fewer episodes are hidden
    pseudonym_key_file = "/etc/waypoint/pseudonym.key"   # optional, see analytics/pseudonym.py

    [access.users]
    "director@clinic.example" = { role = "director" }
    "it@clinic.example"       = { role = "admin" }
    "a.smith@clinic.example"  = { role = "clinician", clinician_id = "C01" }

Roles: ``admin`` (imports, undo, settings, audit log; the whole clinic), ``director`` (the whole
clinic), ``clinician`` (only patients they have seen). A signed-in user who is not in the file is
refused. Without sign-in configured, Waypoint runs in *local demo mode*: one local admin, bound to
127.0.0.1 only (:func:`check_bind_address`).

The scope is applied in SQL (``sql/episodes/w_sessions.sql`` via ``Settings.scope_clinician_id``):
:meth:`Viewer.scoped` is the one way a caller turns a viewer into settings, and pages never filter
for security.
"""
from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .errors import WaypointError
from .settings import Settings

ROLES = ("admin", "director", "clinician")
DEMO_USER = "local-demo"
SUPPRESS_BELOW = 5
FEWER_THAN = "fewer than {n}"


@dataclass(frozen=True)
class Scope:
    """The rows a viewer may reach: ``clinician_id`` None means the whole clinic."""

    clinician_id: str | None = None

    @property
    def whole_clinic(self) -> bool:
        return self.clinician_id is None


@dataclass(frozen=True)
class Viewer:
    user: str                     # the signed-in identity (e-mail), or DEMO_USER
    role: str                     # admin | director | clinician
    clinician_id: str | None = None
    demo: bool = False

    @property
    def scope(self) -> Scope:
        return Scope(self.clinician_id if self.role == "clinician" else None)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_see_clinic(self) -> bool:
        return self.role in ("admin", "director")

    def scoped(self, settings: Settings) -> Settings:
        """``settings`` with this viewer's scope (always overriding whatever scope they carried)."""
        return settings.with_(scope_clinician_id=self.scope.clinician_id)


DEMO_VIEWER = Viewer(user=DEMO_USER, role="admin", demo=True)


@dataclass(frozen=True)
class AccessConfig:
    users: Mapping[str, Viewer] = field(default_factory=dict)
    suppress_below: int = SUPPRESS_BELOW
    pseudonym_key_file: str | None = None

    def viewer_for(self, user: str | None) -> Viewer | None:
        """The viewer for a signed-in identity (case-insensitive e-mail); None: not allowed in."""
        if not user:
            return None
        return self.users.get(user.strip().lower())


def _viewer(user: str, entry: Any, origin: str) -> Viewer:
    if not isinstance(entry, dict):
        raise WaypointError(f"{origin}: [access.users] \"{user}\" must be a table like {{ role = \"director\" }}")
    role = entry.get("role")
    if role not in ROLES:
        raise WaypointError(f"{origin}: user \"{user}\" has role {role!r}; use one of {', '.join(ROLES)}")
    clinician_id = entry.get("clinician_id")
    if role == "clinician" and not clinician_id:
        raise WaypointError(f"{origin}: clinician \"{user}\" needs a clinician_id (as in your session exports)")
    unknown = set(entry) - {"role", "clinician_id"}
    if unknown:
        raise WaypointError(f"{origin}: user \"{user}\": unknown key(s) {', '.join(sorted(unknown))}")
    return Viewer(user=user.strip().lower(), role=role,
                  clinician_id=str(clinician_id) if role == "clinician" else None)


def load_access_config(path: str | os.PathLike | None = None) -> AccessConfig:
    """The ``[access]`` table of the clinic config (``path``, else ``WAYPOINT_CONFIG``); defaults
    (no users) when there is no file or no table."""
    path = path if path is not None else os.environ.get("WAYPOINT_CONFIG")
    if not path or not Path(path).exists():
        return AccessConfig()
    origin = str(path)
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh).get("access", {})
    except tomllib.TOMLDecodeError as exc:
        raise WaypointError(f"{origin}: not valid TOML ({exc})") from exc
    unknown = set(table) - {"users", "suppress_below", "pseudonym_key_file"}
    if unknown:
        raise WaypointError(f"{origin}: [access] unknown key(s) {', '.join(sorted(unknown))}")
    users = {}
    for user, entry in table.get("users", {}).items():
        viewer = _viewer(user, entry, origin)
        users[viewer.user] = viewer
    suppress_below = table.get("suppress_below", SUPPRESS_BELOW)
    if not isinstance(suppress_below, int) or suppress_below < 1:
        raise WaypointError(f"{origin}: [access] suppress_below must be a whole number of at least 1")
    key_file = table.get("pseudonym_key_file")
    if key_file is not None:
        key_file = str((Path(path).parent / key_file)) if not Path(key_file).is_absolute() else str(key_file)
    return AccessConfig(users=users, suppress_below=suppress_below, pseudonym_key_file=key_file)


# ---------------------------------------------------------------------------------------------
# sign-in configured or local demo mode
# ---------------------------------------------------------------------------------------------
def secrets_paths(cwd: str | os.PathLike | None = None) -> list[Path]:
    """Where Streamlit reads secrets from: ``~/.streamlit/secrets.toml`` and ``./.streamlit/secrets.toml``."""
    return [Path.home() / ".streamlit" / "secrets.toml", Path(cwd or os.getcwd()) / ".streamlit" / "secrets.toml"]


def sign_in_configured(paths: list[Path] | None = None) -> bool:
    """True when a Streamlit secrets file has an ``[auth]`` table with a ``redirect_uri`` and
    ``cookie_secret`` (``st.login``'s OpenID Connect settings)."""
    for p in paths if paths is not None else secrets_paths():
        try:
            with open(p, "rb") as fh:
                auth = tomllib.load(fh).get("auth")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(auth, dict) and auth.get("redirect_uri") and auth.get("cookie_secret"):
            return True
    return False


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


DEMO_BIND_MESSAGE = (
    "Waypoint is in local demo mode (no sign-in configured), so it only listens on 127.0.0.1. "
    "To serve it on {host}, configure sign-in: copy .streamlit/secrets.toml.example to "
    ".streamlit/secrets.toml, fill in [auth] for your identity provider (Entra ID, Google Workspace, "
    "Okta), and list who may see what under [access.users] in your clinic config (WAYPOINT_CONFIG)."
)


def check_bind_address(host: str, *, signed_in: bool) -> None:
    """Refuse a non-loopback address in demo mode (raises WaypointError with how to fix it)."""
    if not signed_in and not is_loopback(host):
        raise WaypointError(DEMO_BIND_MESSAGE.format(host=host))


# ---------------------------------------------------------------------------------------------
# small numbers
# ---------------------------------------------------------------------------------------------
def suppress_small_numbers(frame: pd.DataFrame, *, count_column: str = "episodes",
                           threshold: int = SUPPRESS_BELOW,
                           columns: list[str] | None = None) -> pd.DataFrame:
    """A copy of a comparison frame in which every figure of a row resting on fewer than
    ``threshold`` episodes (``count_column``) reads "fewer than N" instead of a number.

    ``columns``: the figures to hide (default: every column other than the row's labels, i.e. every
    numeric column except ``count_column``, whose own value is replaced too). Label columns (text)
    stay. The returned figure columns are object-typed (numbers and the text mix)."""
    out = frame.copy()
    if count_column not in out.columns or out.empty:
        return out
    small = pd.to_numeric(out[count_column], errors="coerce").fillna(0) < threshold
    if columns is None:
        columns = [c for c in out.columns
                   if c != count_column and pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
        columns.append(count_column)
    label = FEWER_THAN.format(n=threshold)
    for col in columns:
        if col not in out.columns:
            continue
        values = out[col].astype(object)
        values[small.to_numpy()] = label
        out[col] = values
    return out


# the column each comparison frame counts its episodes in (outcomes.clinician_comparison,
# engagement.dropout_by_clinician); every other figure of a row rests on that count
COMPARISON_COUNTS = ("denominator", "ended")
COMPARISON_LABELS = ("clinician_id", "measure", "site", "month", "small", "target")  # target: the clinic's rate


def suppress_comparison(frame: pd.DataFrame, threshold: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """:func:`suppress_small_numbers` for a clinician or clinic comparison frame: the count column is
    ``denominator`` (``outcomes.clinician_comparison``) or ``ended``
    (``engagement.dropout_by_clinician``); every figure but the labels is hidden on a small row,
    including the funnel signal (a verdict resting on few episodes)."""
    count = next((c for c in COMPARISON_COUNTS if c in frame.columns), None)
    if count is None:
        raise ValueError(f"not a comparison frame: no {' or '.join(COMPARISON_COUNTS)} column")
    figures = [c for c in frame.columns if c not in COMPARISON_LABELS]
    figures = [c for c in figures if c != count] + [count]
    return suppress_small_numbers(frame, count_column=count, threshold=threshold, columns=figures)
