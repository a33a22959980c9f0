"""pcq.engine.drill: labeled scenarios from seeds, judged like production."""

from __future__ import annotations

from pcq.engine.canary import NoiseCalibrator
from pcq.engine.drill import generate_scenarios, run_scenario
from pcq.engine.variants import affected_kinds


def test_scenarios_are_a_function_of_the_seed():
    a = generate_scenarios(3, benign=8, regressions=4)
    b = generate_scenarios(3, benign=8, regressions=4)
    assert [(s.label, s.profile, s.graph, s.jobs) for s in a] == [(s.label, s.profile, s.graph, s.jobs) for s in b]
    assert [s.graph for s in generate_scenarios(4, benign=8, regressions=4)] != [s.graph for s in a]
    assert sum(s.label == "benign" for s in a) == 8 and sum(s.label == "regression" for s in a) == 4
    for s in a:
        assert s.jobs[0].offset_s == 0 and all(x.offset_s <= y.offset_s for x, y in zip(s.jobs, s.jobs[1:], strict=False))
        if s.label == "regression":
            assert s.profile.regression != "none" and {j.kind for j in s.jobs} & affected_kinds(s.profile.regression)
        else:
            assert s.profile.regression == "none" and s.profile.params["edge_order"] == "shuffled"


def test_benign_canaries_do_not_page_and_regressions_do():
    cal = NoiseCalibrator()
    outcomes = [run_scenario(s, cal) for s in generate_scenarios(11, benign=14, regressions=6)]
    benign = [o for o in outcomes if o.scenario.label == "benign"]
    regressions = [o for o in outcomes if o.scenario.label == "regression"]
    assert not any(o.paged for o in benign), [o.to_dict() for o in benign if o.paged]
    assert all(o.level in ("ticket", "page") for o in regressions)  # every regression is a flagged delta...
    assert sum(o.paged for o in regressions) >= len(regressions) / 2  # ...most are big enough to page
    for o in regressions:
        if o.paged:
            assert o.seconds_to_page is not None and o.seconds_to_page >= o.first_page.offset_s
            assert o.to_dict()["paging_fields"]
    assert cal.fields  # the calibrator learned from every job
