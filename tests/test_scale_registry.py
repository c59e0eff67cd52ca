"""The scale registry: published figures, caseness at the cutoff, a clinic's own scales."""
import pytest

from analytics.scales import _read, get_scale, load_registry

REQUIRED_SCALES = ["phq9", "gad7", "phq8", "core10", "ors", "srs", "pcl5", "wsas", "k10"]


@pytest.mark.parametrize("scale_id", REQUIRED_SCALES)
def test_every_required_scale_is_registered_with_its_sources(scale_id):
    scale = get_scale(scale_id)
    assert scale.sources, f"{scale_id} has no published source"
    assert scale.max - scale.min == scale.items * (scale.item_max - scale.item_min)


@pytest.mark.parametrize("scale_id, cutoff, reliable_change", [("phq9", 10, 6), ("gad7", 8, 4), ("core10", 11, 6), ("ors", 25, 5)])
def test_published_cutoffs_and_reliable_change(scale_id, cutoff, reliable_change):
    scale = get_scale(scale_id)
    assert (scale.cutoff, scale.reliable_change) == (cutoff, reliable_change)


@pytest.mark.parametrize("scale_id, score, clinical", [
    ("phq9", 10, True), ("phq9", 9, False), ("gad7", 8, True), ("gad7", 7, False),
    ("ors", 25, False), ("ors", 24, True),   # ORS: lower is worse, < 25 is clinical
])
def test_a_score_exactly_at_the_cutoff_follows_the_scales_rule(scale_id, score, clinical):
    assert get_scale(scale_id).at_caseness(score) is clinical


def test_phq9_risk_item_is_item_nine_and_phq8_has_none():
    assert get_scale("phq9").risk_item == 9
    assert get_scale("phq8").risk_item is None


@pytest.mark.parametrize("score, band", [(0, "minimal"), (4, "minimal"), (5, "mild"), (14, "moderate"), (20, "severe"), (27, "severe")])
def test_phq9_severity_bands(score, band):
    assert get_scale("phq9").band(score) == band


def test_a_clinic_adds_its_own_scale_in_toml(tmp_path):
    custom = tmp_path / "clinic_scales.toml"
    custom.write_text(
        '[hads_d]\nname = "HADS-D"\nitems = 7\nitem_min = 0\nitem_max = 3\nmin = 0\nmax = 21\n'
        'higher_is_worse = true\ncutoff = 8\nreliable_change = 4\nsources = ["Zigmond & Snaith (1983)"]\n'
    )
    registry = load_registry((str(custom),))
    assert registry["hads_d"].at_caseness(8)
    assert "phq9" in registry


def test_a_scale_missing_its_range_is_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[x]\nname = "X"\nitems = 2\n')
    with pytest.raises(ValueError, match=r"bad\.toml: scale \[x\] is missing item_min"):
        _read(bad)
