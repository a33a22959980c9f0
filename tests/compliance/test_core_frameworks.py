"""The framework and mapping data files shipped in compliance/data, and the parser's checks (pure)."""

import json
from pathlib import Path

import pytest

from compliance.core.frameworks import FrameworkFileError, parse_framework, parse_mapping

DATA = Path(__file__).resolve().parents[2] / "compliance" / "data"
ISO = DATA / "frameworks" / "iso27001-2022.json"
SOC2 = DATA / "frameworks" / "soc2-2017-rev2022.json"
MAPPING = DATA / "mappings" / "soc2-iso27001.json"


def test_iso_27001_annex_a_has_93_controls_in_four_themes():
    spec = parse_framework(ISO.read_bytes())
    assert (spec.key, spec.version) == ("iso27001", "2022")
    assert [(t.code, len(t.controls)) for t in spec.themes] == [("A.5", 37), ("A.6", 8), ("A.7", 14), ("A.8", 34)]
    assert len(spec.refs) == len(set(spec.refs)) == 93
    assert spec.refs[0] == "A.5.1" and spec.refs[-1] == "A.8.34"


def test_soc2_has_every_series():
    spec = parse_framework(SOC2.read_bytes())
    codes = [t.code for t in spec.themes]
    assert codes == [f"CC{i}" for i in range(1, 10)] + ["A1", "C1", "PI1", "P"]
    refs = set(spec.refs)
    assert {"CC1.1", "CC6.8", "CC7.5", "CC8.1", "CC9.2", "A1.3", "C1.2", "PI1.5", "P1.1", "P6.7", "P8.1"} <= refs
    assert len([r for r in refs if r.startswith("CC")]) == 33 and len([r for r in refs if r.startswith("P") and not r.startswith("PI")]) == 18


def test_titles_are_our_own_short_words():
    """The standards' text is copyrighted: our titles are brief paraphrases (spot-checked against the
    published titles, which differ)."""
    iso = {c.ref: c.title for t in parse_framework(ISO.read_bytes()).themes for c in t.controls}
    published = {"A.5.1": "Policies for information security", "A.8.15": "Logging", "A.5.23": "Information security for use of cloud services",
                 "A.6.3": "Information security awareness, education and training"}
    assert iso["A.5.23"] != published["A.5.23"] and iso["A.6.3"] != published["A.6.3"] and iso["A.5.1"] != published["A.5.1"]
    assert all(len(t) <= 80 for t in iso.values())


def test_mapping_pairs_refs_of_both_frameworks():
    soc = set(parse_framework(SOC2.read_bytes()).refs)
    iso = set(parse_framework(ISO.read_bytes()).refs)
    m = parse_mapping(MAPPING.read_bytes())
    assert (m.left, m.right) == ("soc2", "iso27001")
    assert {a for a, _ in m.pairs} == soc  # every SOC 2 criterion maps somewhere
    assert {b for _, b in m.pairs} <= iso
    assert ("CC8.1", "A.8.32") in m.pairs and ("CC7.2", "A.8.15") in m.pairs


def test_digest_is_stable_and_content_sensitive():
    a = parse_framework(ISO.read_bytes())
    obj = json.loads(ISO.read_text())
    assert parse_framework(json.dumps(obj, indent=None)).digest == a.digest  # formatting does not matter
    obj["themes"][0]["controls"][0]["title"] = "Something else"
    assert parse_framework(json.dumps(obj)).digest != a.digest


@pytest.mark.parametrize("mutate, code", [
    (lambda o: o.update(schema="nope"), "framework_file_schema"),
    (lambda o: o.update(key="Bad Key"), "framework_file_key"),
    (lambda o: o.update(version=""), "framework_file_version"),
    (lambda o: o["themes"][0]["controls"].append({"ref": "A.5.1", "title": "again"}), "framework_file_ref"),
    (lambda o: o["themes"][1]["controls"].append({"ref": "A.5.99", "title": "wrong theme"}), "framework_file_ref"),
    (lambda o: o["themes"][0]["controls"][0].update(title=""), "framework_file_shape"),
    (lambda o: o.update(extra=1), "framework_file_shape"),
])
def test_bad_framework_files_are_refused(mutate, code):
    obj = json.loads(ISO.read_text())
    mutate(obj)
    with pytest.raises(FrameworkFileError) as err:
        parse_framework(json.dumps(obj))
    assert err.value.code == code


def test_not_json_is_refused():
    with pytest.raises(FrameworkFileError) as err:
        parse_framework(b"\xff not json")
    assert err.value.code == "framework_file_not_json"
