"""A realistic synthetic clinic: `waypoint demo` and the committed sample export.

Everything here is invented; no real person's data is involved. The generator is vectorised
(numpy, no per-session Python loop) and deterministic for a seed: patients are simulated in fixed
chunks, each with its own random stream derived from ``(seed, chunk number)``, so
:func:`generate` and :func:`write_csv` give the same rows, and a chunked write of ten million
sessions runs in bounded memory.

The shape of the clinic follows ``../shared/clinical-reference.md``; each constant cites its source
beside it. Where the literature gives no figure the value is a modelling choice, marked "choice".

Model, per episode of care:

- a referral date, then a wait to the first (assessment) session;
- intake PHQ-9 and GAD-7 (correlated), and a course type: improving, flat, deteriorating, or
  "maintenance" (below caseness at intake);
- expected scores move from intake toward a patient-specific asymptote on log(session number):
  ``asymptote + (intake - asymptote) * k ** -rate`` (diminishing returns, as in the expected-recovery
  curves of Finch, Lambert & Schaalje 2001), with noise of about ±2 points; the clinician shifts
  the asymptote, so clinicians' outcomes genuinely differ;
- an ending: planned, early dropout (after 1-3 attended sessions), later dropout, transfer, other;
  dropouts often miss their last booked sessions and most simply stop, with no discharge reason;
- appointments weekly, tapering to fortnightly and then monthly as the expected score falls;
  each attended session may be preceded by missed ones (no-show, late cancellation, cancellation)
  at a rate that varies between patients;
- a few patients return after more than 180 days, which starts a new episode.

No row is dated after the fixed end date. Sessions take place up to the clinic's "today", two
weeks before the end; each active patient's next booked appointment after today (status
``scheduled``) is kept when it falls on or before the end, so the diary shows next bookings.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import pandas as pd

from .errors import WaypointError

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

COLUMNS = (
    "patient_id", "clinician_id", "episode_id", "session_date", "session_time", "status",
    "session_type", "modality", "site", "referral_date", "discharge_reason",
    "phq9", "gad7", "phq9_item9", "core10", "wsas",
)
SCORE_COLUMNS = ("phq9", "gad7", "phq9_item9", "core10", "wsas")
STATUSES = ("attended", "no_show", "late_cancel", "cancelled", "scheduled")
MODALITIES = ("in_person", "video", "phone")
SITES = ("Northgate", "Riverside", "Digital")
CORE_SITE = "Riverside"            # the one programme that also uses CORE-10 and WSAS (choice)
DISCHARGE = ("", "planned", "dropout", "transferred", "other")
SESSION_TYPES = ("assessment", "treatment")
TIMES = tuple(f"{8 + s // 2:02d}:{30 * (s % 2):02d}" for s in range(21))   # 08:00 ... 18:00

# ---------------------------------------------------------------------------------------------
# clinical constants (sources beside each)
# ---------------------------------------------------------------------------------------------
PHQ9_MAX, GAD7_MAX, ITEM_MAX, CORE10_MAX, WSAS_MAX = 27, 21, 3, 40, 40   # Kroenke 2001; Spitzer 2006; Barkham 2013; Mundt 2002
PHQ9_CASENESS, GAD7_CASENESS = 10, 8                  # NHS Talking Therapies caseness (clinical-reference.md)
PHQ9_REMISSION = 5                                    # remission = PHQ-9 < 5 (treat-to-target, clinical-reference.md)

# Course types. Share below caseness at intake ~10-15 % ("maintenance"); ~15 % flat; ~5-8 %
# deteriorating (issue spec, in line with reliable deterioration of ~5-7 % in NHS Talking Therapies
# annual reports); the rest improve.
P_MAINTENANCE, P_FLAT, P_DETERIORATING = 0.12, 0.15, 0.065
KIND_IMPROVING, KIND_MAINTENANCE, KIND_FLAT, KIND_DETERIORATING = 0, 1, 2, 3

# Intake severity: NHS Talking Therapies referrals start on average at moderately severe
# depression (PHQ-9 mean ~15) and moderate-severe anxiety (GAD-7 mean ~13) (choice, consistent with
# the severity bands of Kroenke 2001 / Spitzer 2006 and the caseness definitions).
PHQ9_INTAKE_MEAN, PHQ9_INTAKE_SD = 15.5, 4.5
GAD7_INTAKE_MEAN, GAD7_INTAKE_SD, PHQ_GAD_SLOPE = 13.0, 3.0, 0.55   # slope: GAD-7 correlated with PHQ-9 (choice, r ~0.6)

# Trajectories (Finch, Lambert & Schaalje 2001: expected change is linear in log(session number)).
IMPROVER_FRACTION_MEAN, IMPROVER_FRACTION_SD = 0.24, 0.15   # asymptote / intake (choice, tuned so recovery ~50 %)
RATE_LOW, RATE_HIGH = 0.5, 1.1                               # k ** -rate (choice)
SCORE_NOISE_SD = 1.3                                         # session noise: ~±2 points (issue spec)

# Endings. Dropout 19.7 % (95 % CI 18.7-20.7) across 669 studies (Swift & Greenberg 2012); the
# spec asks for a fifth or more dropping out after 1-3 sessions, plus later dropouts.
P_EARLY_DROPOUT, P_LATE_DROPOUT, P_TRANSFERRED, P_OTHER = 0.23, 0.10, 0.03, 0.02
P_DROPOUT_RECORDED = 0.35            # share of dropouts given a discharge reason; most just stop (choice)
P_CONTINUING = 0.30                  # planned improvers who keep coming monthly after remission (stepped care, clinical-reference.md)

# Attendance. Missed appointments ~20 % in mental-health outpatients (Mitchell & Selmes 2007,
# 15.6-28 % by clinic); the spec asks for ~10 % no-shows, ~3 % late cancellations and a few %
# cancellations. A patient-specific propensity (beta distribution) makes misses cluster.
NO_SHOW_BETA = (1.3, 21.0)           # mean ~0.058 per booked slot before the dropout tail (choice)
P_LATE_CANCEL, P_CANCELLED = 0.03, 0.035

# Waits from referral to first session: NHS Talking Therapies standard 75 % within 6 weeks and
# 95 % within 18 weeks; the demo has most waits at 2-8 weeks and a tail past 18 weeks.
WAIT_MEDIAN_DAYS, WAIT_SIGMA = 28.0, 0.5
P_LONG_WAIT, LONG_WAIT_MEDIAN_DAYS, LONG_WAIT_SIGMA = 0.08, 100.0, 0.45

# PHQ-9 item 9: any score >= 1 calls for a risk review (Kroenke 2001); positive in a few % of
# administrations, more often at high totals (choice: ~3-5 % overall).
P_RISK_TRAIT, RISK_TRAIT_MULTIPLIER = 0.12, 5.0

# Returning patients: a new referral more than 180 days after the last contact starts a new
# episode (the episode gap rule, settings.episode_gap_days).
P_RETURN, RETURN_GAP_DAYS = 0.08, (200, 540)

SCHEDULED_AHEAD_DAYS = 14            # the diary: next bookings up to two weeks after "today" (= the end date)
CHUNK_PATIENTS = 20_000              # patients simulated per random stream (fixed: part of the seed)


# ---------------------------------------------------------------------------------------------
# configuration and the clinic's fixed features
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoConfig:
    patients: int = 400
    clinicians: int = 8
    years: float = 2.0
    seed: int = 42
    end: date = date(2026, 10, 31)    # the last date in the export; fixed, so a seed gives the same file whatever the clock says
    chunk_patients: int = CHUNK_PATIENTS

    def validate(self) -> None:
        if self.patients < 1:
            raise WaypointError(f"--patients must be at least 1 (got {self.patients})")
        if self.clinicians < 1:
            raise WaypointError(f"--clinicians must be at least 1 (got {self.clinicians})")
        if not 0.1 <= self.years <= 50:
            raise WaypointError(f"--years must be between 0.1 and 50 (got {self.years})")
        if self.seed < 0:
            raise WaypointError(f"--seed must be 0 or more (got {self.seed})")
        if self.chunk_patients < 1:
            raise WaypointError(f"chunk_patients must be at least 1 (got {self.chunk_patients})")

    @property
    def today(self) -> date:
        """The clinic's "today": the last day sessions take place; later rows are bookings."""
        return date.fromordinal(self.end.toordinal() - SCHEDULED_AHEAD_DAYS)

    @property
    def start(self) -> date:
        return date.fromordinal(self.end.toordinal() - int(round(self.years * 365.25)))


@dataclass(frozen=True)
class ClinicProfile:
    """Clinicians and their (hidden) effects; the same for every chunk of a seed."""
    clinician_ids: tuple[str, ...]
    sites: tuple[str, ...]                  # each clinician's site
    caseload: tuple[float, ...]             # share of referrals
    outcome_shift: tuple[float, ...]        # added to the asymptote fraction (negative = better)
    dropout_multiplier: tuple[float, ...]
    best: int | None                        # index of the clearly better clinician
    worst: int | None                       # index of the clearly worse clinician


def clinic_profile(config: DemoConfig) -> ClinicProfile:
    """The clinicians of the demo clinic: ids, sites, caseloads and outcome effects."""
    rng = np.random.default_rng([config.seed, 0])
    k = config.clinicians
    width = max(2, len(str(k)))
    n_sites = 1 if k == 1 else 2 if k <= 3 else 3
    fte = rng.uniform(0.5, 1.0, size=k)                              # part-time caseloads (choice)
    shift = rng.normal(0.0, 0.04, size=k)                            # modest between-clinician spread (choice)
    mult = np.ones(k)
    best = worst = None
    if k >= 2:
        best, worst = (int(i) for i in rng.choice(k, size=2, replace=False))
        shift[best], shift[worst] = -0.15, 0.17                      # one clearly better, one clearly worse (spec)
        mult[best], mult[worst] = 0.8, 1.4                           # trainees and weaker alliances see more dropout (Swift & Greenberg 2012)
    return ClinicProfile(
        clinician_ids=tuple(f"c{i + 1:0{width}d}" for i in range(k)),
        sites=tuple(SITES[i % n_sites] for i in range(k)),
        caseload=tuple(float(x) for x in fte / fte.sum()),
        outcome_shift=tuple(float(x) for x in shift),
        dropout_multiplier=tuple(float(x) for x in mult),
        best=best,
        worst=worst,
    )


# ---------------------------------------------------------------------------------------------
# vectorised helpers
# ---------------------------------------------------------------------------------------------
def _starts(counts: np.ndarray) -> np.ndarray:
    """Index of each group's first element when groups of these sizes are laid end to end."""
    out = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


def _within(counts: np.ndarray) -> np.ndarray:
    """Position of every element inside its group (0, 1, ... per group)."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(_starts(counts), counts)


def _weekday(day: np.ndarray) -> np.ndarray:
    """Monday = 0 for days counted from 1970-01-01 (a Thursday)."""
    return (day + 3) % 7


def _choice(rng: np.random.Generator, p: np.ndarray | list[float], size: int) -> np.ndarray:
    return rng.choice(len(p), size=size, p=np.asarray(p, dtype=float) / np.sum(p))


def _days(d: date) -> int:
    return d.toordinal() - date(1970, 1, 1).toordinal()


# ---------------------------------------------------------------------------------------------
# episodes
# ---------------------------------------------------------------------------------------------
@dataclass
class _Episodes:
    """Episode-level draws: one element per episode."""
    patient: np.ndarray
    clinician: np.ndarray
    first_day: np.ndarray
    referral_day: np.ndarray
    kind: np.ndarray
    intake_phq: np.ndarray
    intake_gad: np.ndarray
    asym_phq: np.ndarray
    asym_gad: np.ndarray
    rate: np.ndarray
    ending: np.ndarray          # index into DISCHARGE (1 planned, 2 dropout, 3 transferred, 4 other)
    early: np.ndarray           # early dropout
    record_reason: np.ndarray   # write the discharge reason on the last row
    attended_target: np.ndarray
    tail: np.ndarray            # missed sessions after the last attended one (dropouts)
    p_no_show: np.ndarray
    modality: np.ndarray
    slot: np.ndarray
    risk: np.ndarray            # item-9 propensity multiplier
    core: np.ndarray            # programme also scores CORE-10 and WSAS
    remote: np.ndarray          # site offers video and phone only
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = len(self.patient)


def _draw_episodes(rng: np.random.Generator, profile: ClinicProfile, patient: np.ndarray,
                   earliest: np.ndarray, latest: np.ndarray) -> _Episodes:
    n = len(patient)
    k = len(profile.clinician_ids)
    clinician = _choice(rng, profile.caseload, n)
    site = np.asarray(profile.sites)[clinician]
    digital = site == "Digital"

    # First session on the patient's usual weekday: Monday-Friday, a few Saturdays (choice).
    weekday = _choice(rng, [0.21, 0.22, 0.22, 0.21, 0.13, 0.01], n)
    first = rng.integers(earliest, np.maximum(latest - 6, earliest) + 1)
    first = first + (weekday - _weekday(first)) % 7                  # within a week after the draw
    long_wait = rng.random(n) < P_LONG_WAIT
    wait = np.where(long_wait,
                    rng.lognormal(np.log(LONG_WAIT_MEDIAN_DAYS), LONG_WAIT_SIGMA, n),
                    rng.lognormal(np.log(WAIT_MEDIAN_DAYS), WAIT_SIGMA, n))
    wait = np.maximum(np.rint(wait).astype(np.int64), 3)

    kind = _choice(rng, [1 - P_MAINTENANCE - P_FLAT - P_DETERIORATING, P_MAINTENANCE, P_FLAT, P_DETERIORATING], n)
    maint = kind == KIND_MAINTENANCE
    phq = rng.normal(PHQ9_INTAKE_MEAN, PHQ9_INTAKE_SD, n)
    gad = GAD7_INTAKE_MEAN + PHQ_GAD_SLOPE * (phq - PHQ9_INTAKE_MEAN) + rng.normal(0, GAD7_INTAKE_SD, n)
    phq = np.clip(np.rint(phq), 5, PHQ9_MAX)
    gad = np.clip(np.rint(gad), 3, GAD7_MAX)
    # At caseness on at least one measure; a few anxiety-led referrals have PHQ-9 below 10.
    gad = np.where(phq < PHQ9_CASENESS, np.maximum(gad, GAD7_CASENESS), gad)
    # Maintenance (relapse-prevention) patients start below caseness on both.
    phq = np.where(maint, rng.integers(2, PHQ9_CASENESS, n), phq)
    gad = np.where(maint, np.minimum(np.rint(phq * 0.7 + rng.normal(0, 1.2, n)).clip(0), GAD7_CASENESS - 1), gad)

    shift = np.asarray(profile.outcome_shift)[clinician]
    frac = np.clip(rng.normal(IMPROVER_FRACTION_MEAN, IMPROVER_FRACTION_SD, n) + shift, 0.05, 0.95)
    frac_gad = np.clip(frac + rng.normal(0, 0.08, n), 0.05, 0.95)
    worse = rng.uniform(5, 10, n)
    asym_phq = np.select(
        [kind == KIND_IMPROVING, maint, kind == KIND_FLAT],
        [phq * frac, phq * rng.uniform(0.5, 1.0, n), phq + rng.normal(0, 1, n) + 10 * shift],
        phq + worse)
    asym_gad = np.select(
        [kind == KIND_IMPROVING, maint, kind == KIND_FLAT],
        [gad * frac_gad, gad * rng.uniform(0.5, 1.0, n), gad + rng.normal(0, 1, n) + 8 * shift],
        gad + worse * 0.75)
    asym_phq = np.clip(asym_phq, 0, PHQ9_MAX)
    asym_gad = np.clip(asym_gad, 0, GAD7_MAX)
    rate = rng.uniform(RATE_LOW, RATE_HIGH, n)

    # Endings: flat and deteriorating courses drop out and are transferred (stepped up) more.
    mult = np.asarray(profile.dropout_multiplier)[clinician] * np.where(kind >= KIND_FLAT, 1.3, 1.0)
    p_early, p_late = P_EARLY_DROPOUT * mult, P_LATE_DROPOUT * mult
    p_transfer = np.where(kind == KIND_DETERIORATING, 0.20, P_TRANSFERRED)
    u = rng.random(n)
    early = u < p_early
    late = (~early) & (u < p_early + p_late)
    transferred = (~early) & (~late) & (u < p_early + p_late + p_transfer)
    other = (~early) & (~late) & (~transferred) & (u < p_early + p_late + p_transfer + P_OTHER)
    ending = np.select([early | late, transferred, other], [2, 3, 4], 1)
    record = np.where(ending == 2, rng.random(n) < P_DROPOUT_RECORDED, True)

    # Attended sessions in the whole course. NHS Talking Therapies: mean 6.8 sessions (2017-18).
    planned = 4 + rng.negative_binomial(3, 0.4, n)                   # mean ~8.5 (choice)
    continuing = (kind == KIND_IMPROVING) & (ending == 1) & (rng.random(n) < P_CONTINUING)
    planned = planned + np.where(continuing, rng.integers(4, 11, n), 0)
    planned = np.where(maint, rng.integers(3, 13, n), planned)
    attended = np.select(
        [early, late, ending >= 3],
        [_choice(rng, [0.40, 0.35, 0.25], n) + 1, rng.integers(4, 11, n), rng.integers(2, 11, n)],
        planned)
    tail = np.where(ending == 2, _choice(rng, [0.35, 0.35, 0.30], n), 0)

    modality = np.where(digital, _choice(rng, [0.0, 0.7, 0.3], n), _choice(rng, [0.72, 0.2, 0.08], n))
    # Appointment slot: fewer first thing, more after work (choice).
    slot_weights = np.array([0.5] + [1.0] * 17 + [1.3, 1.3, 0.7])
    slot = _choice(rng, slot_weights, n)
    risk = np.where(rng.random(n) < P_RISK_TRAIT, RISK_TRAIT_MULTIPLIER, 0.55)
    return _Episodes(
        patient=patient, clinician=clinician, first_day=first, referral_day=first - wait, kind=kind,
        intake_phq=phq, intake_gad=gad, asym_phq=asym_phq, asym_gad=asym_gad, rate=rate,
        ending=ending, early=early, record_reason=record, attended_target=attended.astype(np.int64),
        tail=tail.astype(np.int64), p_no_show=rng.beta(*NO_SHOW_BETA, n), modality=modality, slot=slot,
        risk=risk, core=site == CORE_SITE, remote=digital,
    )


def _expected(intake: np.ndarray, asym: np.ndarray, rate: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Expected score at attended session k: toward the asymptote, linear in log(k)."""
    return asym + (intake - asym) * np.power(np.maximum(k, 1).astype(float), -rate)


# ---------------------------------------------------------------------------------------------
# sessions
# ---------------------------------------------------------------------------------------------
def _sessions(rng: np.random.Generator, ep: _Episodes, end_day: int) -> dict[str, np.ndarray]:
    """Every row of these episodes up to the end date (plus next booked appointments)."""
    # Units: each attended session with the missed bookings before it, then the dropout tail.
    units_per_ep = ep.attended_target + 1
    unit_ep = np.repeat(np.arange(ep.n), units_per_ep)
    unit_k = _within(units_per_ep)                                   # attended sessions before the unit
    is_tail = unit_k == ep.attended_target[unit_ep]
    p_miss = np.minimum(ep.p_no_show + P_LATE_CANCEL + P_CANCELLED, 0.6)[unit_ep]
    misses = np.minimum(rng.geometric(1 - p_miss) - 1, 5)
    size = np.where(is_tail, ep.tail[unit_ep], misses + 1)

    row_unit = np.repeat(np.arange(len(size)), size)
    e = unit_ep[row_unit]
    k_prev = unit_k[row_unit]
    attended = (_within(size) == size[row_unit] - 1) & ~is_tail[row_unit]
    rows_per_ep = np.bincount(e, minlength=ep.n)
    ep_start = _starts(rows_per_ep)
    j = _within(rows_per_ep)
    n_rows = len(e)

    # Status of a missed booking: no-show, late cancellation or cancellation, by the patient's rates.
    pn = ep.p_no_show[e]
    u = rng.random(n_rows) * (pn + P_LATE_CANCEL + P_CANCELLED)
    missed_status = np.where(u < pn, 1, np.where(u < pn + P_LATE_CANCEL, 2, 3))
    status = np.where(attended, 0, np.where(is_tail[row_unit], 1, missed_status))

    # Intervals: weekly at first, fortnightly once the expected PHQ-9 is mild, monthly below 5;
    # maintenance patients fortnightly from the start (choice; stepped care, clinical-reference.md).
    current = _expected(ep.intake_phq[e], ep.asym_phq[e], ep.rate[e], k_prev)
    interval = np.where(current >= PHQ9_CASENESS, 7, np.where(current >= PHQ9_REMISSION, 14, 28))
    early_weekly = (k_prev < 4) & (ep.kind[e] != KIND_MAINTENANCE)
    interval = np.where(early_weekly, 7, interval)
    prev_attended = np.roll(attended, 1)
    prev_attended[ep_start[rows_per_ep > 0]] = False
    interval = np.where(~prev_attended, 7, interval)                  # a missed booking is rebooked a week on
    after_assessment = prev_attended & (k_prev == 1)
    interval = np.where(after_assessment, 7 * rng.integers(1, 5, n_rows), interval)  # assessment to treatment: 1-4 weeks
    interval = interval + 7 * (rng.random(n_rows) < 0.06)            # holidays and illness (choice)
    interval[j == 0] = 0
    csum = np.cumsum(interval)
    day = ep.first_day[e] + csum - csum[ep_start[e]]
    # Now and then a session moves a day within the working week (choice).
    wd = _weekday(day)
    jitter = np.where(rng.random(n_rows) < 0.08, rng.choice([-1, 1], n_rows), 0)
    jitter = np.where((wd + jitter < 0) | (wd + jitter > 4), -jitter, jitter)
    jitter = np.where(wd > 4, 0, jitter)
    day = day + jitter

    # Keep what happened by the end, and each episode's next booking within two weeks after it.
    prev_day = np.roll(day, 1)
    first_future = (day > end_day) & ((j == 0) | (prev_day <= end_day)) & (day <= end_day + SCHEDULED_AHEAD_DAYS)
    keep = (day <= end_day) | first_future
    status = np.where(day > end_day, 4, status)
    last_row = np.zeros(n_rows, dtype=bool)
    last_row[(ep_start + rows_per_ep - 1)[rows_per_ep > 0]] = True
    reason = np.where(last_row & (day <= end_day) & ep.record_reason[e], ep.ending[e], 0)

    slot = np.where(rng.random(n_rows) < 0.85, ep.slot[e], rng.integers(0, len(TIMES), n_rows))
    other_modality = np.where(ep.remote[e], rng.integers(1, len(MODALITIES), n_rows), rng.integers(0, len(MODALITIES), n_rows))
    modality = np.where(rng.random(n_rows) < 0.88, ep.modality[e], other_modality)   # the Digital site is remote only
    session_type = (k_prev > 0).astype(np.int64)                      # assessment until one is attended

    scores = _scores(rng, ep, e, k_prev + 1, (status == 0) & (day <= end_day))
    out = {
        "patient": ep.patient[e], "clinician": ep.clinician[e], "day": day, "slot": slot, "status": status,
        "session_type": session_type, "modality": modality, "referral_day": ep.referral_day[e],
        "reason": reason, **scores,
    }
    return {key: value[keep] for key, value in out.items()}


def _scores(rng: np.random.Generator, ep: _Episodes, e: np.ndarray, k: np.ndarray,
            scored: np.ndarray) -> dict[str, np.ndarray]:
    """PHQ-9, GAD-7, item 9, CORE-10 and WSAS at attended sessions (-1 = missing)."""
    n = len(e)
    intake = k == 1
    true_phq = _expected(ep.intake_phq[e], ep.asym_phq[e], ep.rate[e], k)
    true_gad = _expected(ep.intake_gad[e], ep.asym_gad[e], ep.rate[e], k)
    noise = np.where(intake, 0.0, 1.0)                                # the intake is the drawn score
    phq = np.clip(np.rint(true_phq + noise * rng.normal(0, SCORE_NOISE_SD, n)), 0, PHQ9_MAX).astype(np.int64)
    gad = np.clip(np.rint(true_gad + noise * rng.normal(0, SCORE_NOISE_SD, n)), 0, GAD7_MAX).astype(np.int64)

    # Session-by-session measurement with some gaps (paired-data target 90 %, NHS Talking Therapies).
    u = rng.random(n)
    has_phq = scored & (u >= np.where(intake, 0.03, 0.09))
    has_gad = has_phq & (rng.random(n) >= 0.03)

    # Item 9: more likely at higher totals and for patients with a risk history (choice).
    severity = np.clip((phq - 8) / (PHQ9_MAX - 8), 0, 1)
    p_item9 = np.minimum(ep.risk[e] * (0.008 + 0.10 * severity ** 1.5), 0.9)
    positive = rng.random(n) < p_item9
    value = _choice(rng, [0.72, 0.21, 0.07], n) + 1
    item9 = np.where(positive, value, 0)
    # Consistent with the total: the other eight items score 0-24.
    item9 = np.clip(item9, np.maximum(phq - 24, 0), np.minimum(phq, ITEM_MAX))

    core = scored & ep.core[e] & ((k == 1) | (k % 4 == 0)) & has_phq
    core10 = np.clip(np.rint(0.72 * (true_phq + true_gad) + rng.normal(0, 2.0, n)), 0, CORE10_MAX).astype(np.int64)
    wsas = np.clip(np.rint(1.25 * true_phq + rng.normal(0, 2.5, n)), 0, WSAS_MAX).astype(np.int64)
    return {
        "phq9": np.where(has_phq, phq, -1), "gad7": np.where(has_gad, gad, -1),
        "phq9_item9": np.where(has_phq, item9, -1),
        "core10": np.where(core, core10, -1), "wsas": np.where(core, wsas, -1),
    }


def _chunk_rows(config: DemoConfig, profile: ClinicProfile, chunk: int) -> dict[str, np.ndarray]:
    """The rows of one chunk of patients, sorted by patient and date."""
    rng = np.random.default_rng([config.seed, 1, chunk])
    lo = chunk * config.chunk_patients
    hi = min(config.patients, lo + config.chunk_patients)
    patient = np.arange(lo, hi, dtype=np.int64)
    start_day, end_day = _days(config.start), _days(config.today)     # end_day: the clinic's today
    n = len(patient)
    first = _draw_episodes(rng, profile, patient, np.full(n, start_day), np.full(n, end_day + SCHEDULED_AHEAD_DAYS))
    rows = _sessions(rng, first, end_day)

    # Returning patients: a new referral 200-540 days after the last contact of an ended episode.
    last_day = np.full(config.patients, np.iinfo(np.int64).min)
    np.maximum.at(last_day, rows["patient"], rows["day"])
    last_day = last_day[patient]
    earliest = last_day + RETURN_GAP_DAYS[0]
    seen = last_day > np.iinfo(np.int64).min
    returns = (rng.random(n) < P_RETURN) & seen & (last_day <= end_day) & (earliest <= end_day + SCHEDULED_AHEAD_DAYS)
    if returns.any():
        latest = np.minimum(last_day + RETURN_GAP_DAYS[1], end_day + SCHEDULED_AHEAD_DAYS)
        second = _draw_episodes(rng, profile, patient[returns], earliest[returns], latest[returns])
        # The new referral comes after the last contact.
        second.referral_day = np.maximum(second.referral_day, last_day[returns] + 30)
        more = _sessions(rng, second, end_day)
        rows = {key: np.concatenate([rows[key], more[key]]) for key in rows}
    order = np.lexsort((rows["slot"], rows["day"], rows["patient"]))
    return {key: value[order] for key, value in rows.items()}


# ---------------------------------------------------------------------------------------------
# the export
# ---------------------------------------------------------------------------------------------
def _frame(config: DemoConfig, profile: ClinicProfile, rows: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows as the canonical export; text columns as categoricals (cheap to build and write)."""
    width = max(5, len(str(config.patients)))
    lo, hi = int(rows["patient"].min()), int(rows["patient"].max())
    patient_ids = [f"p{i + 1:0{width}d}" for i in range(lo, hi + 1)]
    day_lo = int(min(rows["day"].min(), rows["referral_day"].min()))
    day_hi = int(max(rows["day"].max(), rows["referral_day"].max()))
    dates = np.arange(day_lo, day_hi + 1).astype("datetime64[D]").astype(str)

    def cat(codes: np.ndarray, categories) -> pd.Categorical:
        return pd.Categorical.from_codes(codes.astype(np.int64), categories=pd.Index(list(categories), dtype=object))

    def score(values: np.ndarray) -> pd.arrays.IntegerArray:
        missing = values < 0
        return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)

    site_names = sorted(set(profile.sites))
    site_index = np.array([site_names.index(s) for s in profile.sites], dtype=np.int64)
    n = len(rows["day"])
    frame = pd.DataFrame({
        "patient_id": cat(rows["patient"] - lo, patient_ids),
        "clinician_id": cat(rows["clinician"], profile.clinician_ids),
        "episode_id": cat(np.full(n, -1, dtype=np.int64), [""]),                  # empty: derived by the gap rule
        "session_date": cat(rows["day"] - day_lo, dates),
        "session_time": cat(rows["slot"], TIMES),
        "status": cat(rows["status"], STATUSES),
        "session_type": cat(rows["session_type"], SESSION_TYPES),
        "modality": cat(rows["modality"], MODALITIES),
        "site": cat(site_index[rows["clinician"]], site_names),
        "referral_date": cat(rows["referral_day"] - day_lo, dates),
        "discharge_reason": cat(np.where(rows["reason"] == 0, -1, rows["reason"]), DISCHARGE),  # empty: none given
        **{name: score(rows[name]) for name in SCORE_COLUMNS},
    })
    return frame


def _chunks(config: DemoConfig) -> Iterator[pd.DataFrame]:
    config.validate()
    profile = clinic_profile(config)
    for chunk in range(-(-config.patients // config.chunk_patients)):
        rows = _chunk_rows(config, profile, chunk)
        if len(rows["day"]):
            yield _frame(config, profile, rows)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical text columns as ordinary strings."""
    text = [c for c in COLUMNS if c not in SCORE_COLUMNS]
    return frame.astype({c: object for c in text}).fillna({c: "" for c in text}).astype({c: "str" for c in text})


def generate(config: DemoConfig = DemoConfig()) -> pd.DataFrame:
    """The demo clinic as the wide canonical export: one row per booked session, columns COLUMNS.

    Text columns are strings ("" when empty: episode_id, discharge_reason); scores are nullable
    integers. The same config always gives the same frame.
    """
    frames = list(_chunks(config))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="Int64" if c in SCORE_COLUMNS else "str") for c in COLUMNS})
    return _plain(pd.concat([_plain(f) for f in frames], ignore_index=True))


def to_csv_text(frame: pd.DataFrame) -> str:
    """The export's CSV text, as pandas writes it: the same bytes as write_csv for the same rows."""
    return frame.to_csv(index=False, lineterminator="\n")


def write_csv(config: DemoConfig, path: Path) -> Path:
    """Write the demo export to ``path`` chunk by chunk (bounded memory); returns the path.

    Each chunk is formatted by DuckDB's CSV writer (several times faster than pandas' to_csv:
    about 10 million sessions a minute on two cores) and appended; the file appears complete or
    not at all. Empty fields are written empty, numbers as plain integers, nothing is quoted.
    """
    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    piece = path.with_name(path.name + ".chunk")
    con = duckdb.connect(":memory:")
    try:
        with open(tmp, "wb") as out:
            out.write((",".join(COLUMNS) + "\n").encode())
            for frame in _chunks(config):
                con.register("demo_chunk", frame)
                con.execute(f"COPY demo_chunk TO '{_sql_path(piece)}' (FORMAT csv, HEADER false)").fetchall()
                con.unregister("demo_chunk")
                with open(piece, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        tmp.replace(path)
    finally:
        con.close()
        piece.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return path


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# ---------------------------------------------------------------------------------------------
# a messy export, as clinics' record systems really write them (for import tests)
# ---------------------------------------------------------------------------------------------
MESSY_COLUMNS = {   # canonical field -> header in the messy export (see sample_data/messy_mapping.toml)
    "patient_id": "Client ID", "clinician_id": "Therapist", "session_date": "Appointment Date",
    "session_time": "Start Time", "status": "Attendance", "session_type": "Appointment Type",
    "modality": "Delivery", "site": "Location", "referral_date": "Referral Date",
    "discharge_reason": "Discharge Reason", "phq9": "PHQ-9 Total", "gad7": "GAD-7 Total",
    "phq9_item9": "PHQ-9 Q9", "core10": "CORE-10 Total", "wsas": "WSAS Total",
}
MESSY_STATUS = {"attended": "Show", "no_show": "No Show", "late_cancel": "Late Cancel",
                "cancelled": "Cancelled", "scheduled": "Booked"}
MESSY_DISCHARGE = {"planned": "Completed treatment", "dropout": "Disengaged",
                   "transferred": "Referred on", "other": "Other"}
MESSY_THERAPISTS = ("Zoë Brontë", "José Núñez", "Siobhán O'Connor", "Renée Müller",
                    "François Lefèvre", "Björn Åström", "Inès Dubois", "Ana Paço")
MESSY_SITES = {"Northgate": "Northgate – Main", "Riverside": "Riverside Café Building", "Digital": "Digital"}
MESSY_DATE_FORMAT = "%m/%d/%Y"
MESSY_NOTES = ('Rebooked; client phoned "running late"', "Interpreter needed\nSpanish", "Letter sent")


def messy_export(frame: pd.DataFrame) -> bytes:
    """The same sessions as a US record system's export: Windows-1252, ';'-delimited, CRLF line
    ends, US dates (%m/%d/%Y), the system's own headers and status words, totals written as Excel
    numbers ("14.0"), accented therapist names and a free-text notes column with quoted ';' and
    embedded newlines. Every row is valid: with sample_data/messy_mapping.toml it imports to the
    same sessions and scores as the clean export (therapists named instead of c01, c02, ...)."""
    import csv
    import io

    def us_date(values: pd.Series) -> pd.Series:
        parsed = pd.to_datetime(values.replace("", None), format="%Y-%m-%d")
        return parsed.dt.strftime(MESSY_DATE_FORMAT).fillna("")

    def excel(values: pd.Series) -> pd.Series:
        return values.map(lambda v: "" if pd.isna(v) else f"{int(v)}.0")

    names = {f"c{i + 1:02d}": name for i, name in enumerate(MESSY_THERAPISTS)}
    out = pd.DataFrame({
        MESSY_COLUMNS["patient_id"]: frame["patient_id"].str.upper(),
        MESSY_COLUMNS["clinician_id"]: frame["clinician_id"].map(lambda c: names.get(c, c)),
        MESSY_COLUMNS["session_date"]: us_date(frame["session_date"]),
        MESSY_COLUMNS["session_time"]: frame["session_time"],
        MESSY_COLUMNS["status"]: frame["status"].map(MESSY_STATUS),
        MESSY_COLUMNS["session_type"]: frame["session_type"],
        MESSY_COLUMNS["modality"]: frame["modality"],
        MESSY_COLUMNS["site"]: frame["site"].map(lambda s: MESSY_SITES.get(s, s)),
        MESSY_COLUMNS["referral_date"]: us_date(frame["referral_date"]),
        MESSY_COLUMNS["discharge_reason"]: frame["discharge_reason"].map(lambda r: MESSY_DISCHARGE.get(r, r)),
        MESSY_COLUMNS["phq9"]: excel(frame["phq9"]),
        MESSY_COLUMNS["gad7"]: excel(frame["gad7"]),
        MESSY_COLUMNS["phq9_item9"]: frame["phq9_item9"].map(lambda v: "" if pd.isna(v) else str(int(v))),
        MESSY_COLUMNS["core10"]: excel(frame["core10"]),
        MESSY_COLUMNS["wsas"]: excel(frame["wsas"]),
        "Notes": [MESSY_NOTES[i % len(MESSY_NOTES)] if i % 23 == 5 else "" for i in range(len(frame))],
    })
    text = io.StringIO()
    out.to_csv(text, sep=";", index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    return text.getvalue().encode("cp1252")


def read_export(path: Path) -> pd.DataFrame:
    """A clean export written by write_csv, as generate() returns it (strings, nullable scores)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for name in SCORE_COLUMNS:
        frame[name] = pd.to_numeric(frame[name].replace("", None)).astype("Int64")
    return frame


def write_messy_sample(clean_csv: Path, folder: Path) -> tuple[Path, Path]:
    """messy_export.csv and messy_mapping.toml in ``folder``, from the clean export ``clean_csv``."""
    folder = Path(folder)
    export, mapping = folder / "messy_export.csv", folder / "messy_mapping.toml"
    export.write_bytes(messy_export(read_export(Path(clean_csv))))
    mapping.write_text(messy_mapping_toml(), encoding="utf-8", newline="\n")
    return export, mapping


def messy_mapping_toml() -> str:
    """The mapping that reads messy_export() (the format of `waypoint ingest --mapping`)."""
    lines = ["# Mapping for sample_data/messy_export.csv (see sample_data/README.md).", "[columns]"]
    lines += [f'{field} = "{header}"' for field, header in MESSY_COLUMNS.items()]
    lines += ["", "[dates]", f'format = "{MESSY_DATE_FORMAT}"', "", "[values.status]"]
    lines += [f'"{word}" = "{status}"' for status, word in MESSY_STATUS.items()]
    lines += ["", "[values.discharge_reason]"]
    lines += [f'"{word}" = "{reason}"' for reason, word in MESSY_DISCHARGE.items()]
    return "\n".join(lines) + "\n"


def build_demo(con: "duckdb.DuckDBPyConnection", config: DemoConfig = DemoConfig()):
    """Generate the demo clinic and import it into ``con``; returns the ImportResult."""
    from .errors import WaypointError
    from .ingest import ingest_files

    # the demo's patients (p00001, ...) must not be mixed into a clinic's own data
    own = con.execute("SELECT count(*), list(DISTINCT file_name ORDER BY file_name)[1:3] FROM imports "
                      "WHERE imported_by <> 'demo' AND undone_at IS NULL").fetchall()[0]
    if own[0]:
        raise WaypointError(
            f"this database holds imports of a clinic's own files ({', '.join(own[1])}{', …' if own[0] > 3 else ''}); "
            "the demo clinic would be mixed into them. Build the demo in a database of its own: "
            "waypoint demo --db demo.duckdb")
    with tempfile.TemporaryDirectory(prefix="waypoint-demo-") as folder:
        path = write_csv(config, Path(folder) / f"demo_clinic_seed{config.seed}.csv")
        results = ingest_files(con, [path], imported_by="demo")
    return results[0]


if __name__ == "__main__":   # maintainers: python -m analytics.demo messy sample_data/demo_clinic.csv
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "messy":
        sys.exit("usage: python -m analytics.demo messy CLEAN.csv   (writes the messy sample beside it)")
    for written in write_messy_sample(Path(sys.argv[2]), Path(sys.argv[2]).parent):
        print(f"wrote {written}")
