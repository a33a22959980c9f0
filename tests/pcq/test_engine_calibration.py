"""pcq.engine.canary.NoiseCalibrator: per-field noise learned across cases, used as a floor on the band."""

from __future__ import annotations

import json

import pytest

from pcq.engine.canary import CanaryCase, CanaryConfig, NoiseCalibrator, judge, noise_maxima
from pcq.engine.results import RESULT_FORMAT


def pr(values):
    return {"format": RESULT_FORMAT, "kind": "pagerank", "values": values, "iterations": 10}


def case(p2_delta, canary_delta, job="j"):
    base = {f"n{i}": 0.1 for i in range(10)}
    return CanaryCase("pagerank", pr(base), pr({k: v + p2_delta for k, v in base.items()}),
                      pr({k: v + canary_delta for k, v in base.items()}), job_id=job)


def test_noise_maxima_per_field():
    assert noise_maxima(case(1e-6, 0.0)) == {"pagerank.score": pytest.approx(1e-6)}
    assert noise_maxima(case(0.0, 0.5)) == {"pagerank.score": 0.0}


def test_a_prior_band_absorbs_noise_a_quiet_batch_did_not_show():
    quiet = case(0.0, 1e-6)  # this batch's prod copies agree; the canary moves by 1e-6
    assert judge([quiet]).flagged  # without memory the move is a delta
    cal = NoiseCalibrator()
    for i in range(5):
        cal.observe(case(8e-7, 0.0, job=f"past-{i}"))  # earlier cases showed noise of 8e-7
    assert cal.band("pagerank.score") == pytest.approx(1.6e-6)
    assert not judge([quiet], CanaryConfig(prior_bands=cal.bands())).flagged
    assert judge([case(0.0, 1e-3)], CanaryConfig(prior_bands=cal.bands())).flagged  # real deltas still are


def test_the_window_forgets_old_noise_and_state_round_trips():
    cal = NoiseCalibrator(window=3)
    cal.observe(case(1e-3, 0))
    for i in range(3):
        cal.observe(case(1e-9, 0, job=str(i)))
    fn = cal.fields["pagerank.score"]
    assert fn.observations == 4 and fn.noisy == 4 and len(fn.recent) == 3
    assert cal.band("pagerank.score") == pytest.approx(2e-9)  # the 1e-3 case left the window
    again = NoiseCalibrator.from_state(json.loads(json.dumps(cal.state_dict())), window=3)
    assert again.bands() == cal.bands() and again.fields["pagerank.score"].observations == 4
    assert NoiseCalibrator().band("unknown.field") == 0.0
    with pytest.raises(ValueError):
        NoiseCalibrator.from_state({"version": 9})
    with pytest.raises(ValueError):
        NoiseCalibrator(window=0)
