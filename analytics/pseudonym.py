"""Optional pseudonymisation at import: patient IDs replaced by a keyed hash, so the database holds
no record numbers (access issue).

- The pseudonym of a patient ID is ``"P-"`` + the first 16 hex digits (64 bits) of
  HMAC-SHA256(key, the ID as the export has it, trimmed). Without the key nobody can recompute
  it from a record number; with the same key the same export always gives the same pseudonyms, so
  monthly re-imports keep adding to the same patients.
- The key is a clinic secret kept *outside* the database: the environment variable
  ``WAYPOINT_PSEUDONYM_KEY``, or a key file named by ``pseudonym_key_file`` in the ``[access]``
  table of the clinic config (:func:`new_key_file` writes one). At least 32 characters.
- Once a database holds pseudonyms (its ``meta`` table records the key's fingerprint, never the
  key), an import with no key or a different key is refused, and so is a first pseudonymised
  import into a database that already holds record numbers: the two would never match up.

The import engine calls :func:`apply_at_import` on its raw rows (``_in_raw``) right after reading
a file, so the checked rows, the rejected rows and the ``--rejects`` file all carry pseudonyms; an
ID already in pseudonym form (that file, fixed and uploaded again) is kept as it is.
"""
from __future__ import annotations

import contextvars
import hashlib
import hmac
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from .errors import WaypointError

ENV_KEY = "WAYPOINT_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 32
PREFIX = "P-"
HEX_DIGITS = 16

_forced: contextvars.ContextVar[bytes | None] = contextvars.ContextVar("waypoint_pseudonym_key", default=None)


def pseudonym(patient_id: str, key: bytes) -> str:
    """The pseudonym of one patient ID (trimmed) under ``key``."""
    digest = hmac.new(key, str(patient_id).strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_DIGITS]


_PSEUDONYM_FORM = re.compile(re.escape(PREFIX) + "[0-9a-f]{%d}" % HEX_DIGITS)


def is_pseudonym(text: str) -> bool:
    """Whether ``text`` has the form of a pseudonym ("P-" and 16 hex digits), as the rows of a
    pseudonymised import's --rejects file do. No record system numbers patients that way."""
    return bool(_PSEUDONYM_FORM.fullmatch(str(text).strip()))


def fingerprint(key: bytes) -> str:
    """Identifies a key without revealing it (stored in the database's meta table)."""
    return hmac.new(key, b"waypoint pseudonym key fingerprint", hashlib.sha256).hexdigest()[:16]


def _checked(key: bytes, origin: str) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise WaypointError(f"the pseudonym key from {origin} is too short ({len(key)} characters; at least "
                            f"{MIN_KEY_LENGTH}): `python -c \"import secrets; print(secrets.token_hex(32))\"` makes one.")
    return key


def configured_key(config: str | os.PathLike | None = None) -> bytes | None:
    """The clinic's key: ``WAYPOINT_PSEUDONYM_KEY``, else the key file of the clinic config's
    ``[access]`` table (``config``, else ``WAYPOINT_CONFIG``); None when neither is set."""
    value = os.environ.get(ENV_KEY)
    if value:
        value = value.strip()
        if value.startswith(("/", "./", "../", "~")) or os.path.isfile(value):
            raise WaypointError(
                f"{ENV_KEY} holds the key itself (64 hex digits), not the path of a key file; it looks like a "
                "path. Name a key file with pseudonym_key_file under [access] in the clinic config instead.")
        return _checked(value.encode("utf-8"), ENV_KEY)
    from .access import load_access_config

    key_file = load_access_config(config).pseudonym_key_file
    if not key_file:
        return None
    try:
        text = Path(key_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise WaypointError(f"cannot read the pseudonym key file {key_file} ({exc.strerror or exc}).") from exc
    return _checked(text.encode("utf-8"), key_file)


def new_key_file(path: str | os.PathLike) -> Path:
    """Write a new random key (64 hex digits) to ``path``, readable by its owner only. Refuses to
    overwrite: a lost or replaced key means new pseudonyms for every patient."""
    path = Path(path)
    if path.exists():
        raise WaypointError(f"{path} already exists; a new key would give every patient a new pseudonym.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path


@contextmanager
def pseudonymising(key: bytes) -> Iterator[None]:
    """Imports inside this block pseudonymise with ``key`` (``waypoint ingest --pseudonymise``)."""
    token = _forced.set(_checked(key, "the caller"))
    try:
        yield
    finally:
        _forced.reset(token)


def active_key() -> bytes | None:
    """The key an import uses now: one set by :func:`pseudonymising`, else the configured one."""
    return _forced.get() or configured_key()


def _stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute("SELECT value FROM meta WHERE key = 'pseudonym_key_fingerprint'").fetchall()
    return rows[0][0] if rows else None


def is_pseudonymised(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds pseudonyms for patient IDs (a pseudonymised import recorded its key)."""
    return _stored_fingerprint(con) is not None


def apply_at_import(con: duckdb.DuckDBPyConnection, patient_column: int | None) -> bool:
    """Replace the patient IDs in column ``c<patient_column>`` of the import's raw rows (``_in_raw``)
    by their pseudonyms when a key is active; check the database and the key agree. Runs inside the
    import's transaction. Returns whether it pseudonymised."""
    key = active_key()
    stored = _stored_fingerprint(con)
    if key is None:
        if stored is not None:
            raise WaypointError(
                "this database holds pseudonymised patient IDs, but no pseudonym key is configured: set "
                f"{ENV_KEY} or [access] pseudonym_key_file in the clinic config to the clinic's key.")
        return False
    if stored is None:
        has_rows = con.execute("SELECT count(*) FROM sessions").fetchall()[0][0] + \
            con.execute("SELECT count(*) FROM measurements").fetchall()[0][0]
        if has_rows:
            raise WaypointError(
                "this database already holds patient record numbers; pseudonymised imports would never match "
                "them. Start a new database for pseudonymised data (or import without a pseudonym key).")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('pseudonym_key_fingerprint', ?)", [fingerprint(key)])
    elif stored != fingerprint(key):
        raise WaypointError(
            "the pseudonym key differs from the one this database was built with: its patients would all get "
            "new pseudonyms. Use the clinic's original key.")
    if patient_column is None:
        return True
    col = f"c{int(patient_column)}"
    ids = [r[0] for r in con.execute(f"SELECT DISTINCT trim({col}) FROM _in_raw "
                                     f"WHERE NULLIF(trim({col}), '') IS NOT NULL").fetchall()]
    # an ID already in pseudonym form (a fixed --rejects file uploaded again) stays as it is: hashed
    # again it would become a new patient
    ids = [i for i in ids if not is_pseudonym(i)]
    mapping = pd.DataFrame({"raw_id": ids, "pseudonym": [pseudonym(i, key) for i in ids]}, dtype="object")
    con.register("_in_pseudonyms_df", mapping)
    try:
        con.execute(f"UPDATE _in_raw SET {col} = p.pseudonym FROM _in_pseudonyms_df p "
                    f"WHERE trim(_in_raw.{col}) = p.raw_id")
    finally:
        con.unregister("_in_pseudonyms_df")
    return True


@contextmanager
def for_import(config: str | os.PathLike | None = None, *, required: bool = False) -> Iterator[bytes | None]:
    """The key of the clinic config ``config`` (or the environment) active for the imports inside;
    ``required`` (``--pseudonymise``): a clear error when no key is configured."""
    key = configured_key(config)
    if key is None:
        if required:
            raise WaypointError(
                f"--pseudonymise needs the clinic's pseudonym key: set {ENV_KEY}, or pseudonym_key_file under "
                "[access] in the clinic config (`waypoint pseudonym-key FILE` writes a new one).")
        yield None
        return
    with pseudonymising(key):
        yield key


def lookup(patient_ids: list[str], config: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(ID, pseudonym) under the configured key: how staff find a patient in a pseudonymised Waypoint."""
    key = configured_key(config)
    if key is None:
        raise WaypointError(f"no pseudonym key is configured: set {ENV_KEY}, or pseudonym_key_file under [access] "
                            "in the clinic config.")
    return [(str(i).strip(), pseudonym(i, key)) for i in patient_ids]
