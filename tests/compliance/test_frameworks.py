"""Loading frameworks and the mapping with ``manage.py compliance load``: counts, both directions of
the mapping, idempotent re-loads, and versions that keep the old ones."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from compliance import services
from compliance.models import Control, ControlMapping, Framework, Theme

pytestmark = pytest.mark.django_db
DATA = Path(services.DATA_DIR)


def load(*args):
    out = StringIO()
    call_command("compliance", "load", *args, stdout=out)
    return out.getvalue()


def test_load_command_loads_both_frameworks_and_the_mapping():
    out = load()
    assert "iso27001 2022 loaded (93 controls)" in out and "soc2 2017-rev2022 loaded (61 controls)" in out
    iso = Framework.objects.get(key="iso27001")
    assert [(t.code, t.controls.count()) for t in iso.themes.order_by("order")] == [("A.5", 37), ("A.6", 8), ("A.7", 14), ("A.8", 34)]
    soc = Framework.objects.get(key="soc2")
    assert set(soc.themes.values_list("code", flat=True)) == {*(f"CC{i}" for i in range(1, 10)), "A1", "C1", "PI1", "P"}
    assert soc.controls.filter(ref__in=["CC6.1", "A1.2", "C1.1", "PI1.3", "P4.2"]).count() == 5
    assert ControlMapping.objects.count() == 135
    assert AuditEvent.objects.filter(action="compliance.framework.load").count() == 2
    assert AuditEvent.objects.filter(action="compliance.mapping.load").count() == 1


def test_reloading_is_idempotent():
    load()
    counts = (Framework.objects.count(), Theme.objects.count(), Control.objects.count(), ControlMapping.objects.count())
    out = load()
    assert "already loaded" in out and "0 new" in out
    assert counts == (Framework.objects.count(), Theme.objects.count(), Control.objects.count(), ControlMapping.objects.count())
    assert counts == (2, 17, 154, 135)


def test_mapping_resolves_both_ways(frameworks):
    cc81 = frameworks["soc2"].controls.get(ref="CC8.1")
    assert {(c.framework.key, c.ref) for c in services.mapped_controls(cc81)} == {
        ("iso27001", "A.8.25"), ("iso27001", "A.8.29"), ("iso27001", "A.8.31"), ("iso27001", "A.8.32")}
    a832 = frameworks["iso27001"].controls.get(ref="A.8.32")
    assert {c.ref for c in services.mapped_controls(a832)} == {"CC3.4", "CC8.1"}
    a534 = frameworks["iso27001"].controls.get(ref="A.5.34")
    assert {c.ref for c in services.mapped_controls(a534)} >= {"P1.1", "P2.1", "P8.1"}


def test_a_new_version_keeps_the_old_one_and_carries_owners(frameworks, world, tmp_path):
    old = frameworks["iso27001"]
    logging_ctl = old.controls.get(ref="A.8.15")
    services.control_update(actor=world.users["compliance"], control=logging_ctl, owner_id=world.users["oncall"].pk,
                            status="implemented", freshness_days=30)
    doc = json.loads((DATA / "frameworks" / "iso27001-2022.json").read_text())
    doc["version"] = "2022-amd1"
    doc["themes"][3]["controls"].append({"ref": "A.8.35", "title": "A control added by the amendment"})
    path = tmp_path / "iso-amd1.json"
    path.write_text(json.dumps(doc))
    out = load("--file", str(path), "--mapping", str(DATA / "mappings" / "soc2-iso27001.json"))
    assert "iso27001 2022-amd1 loaded (94 controls)" in out
    new = Framework.objects.get(key="iso27001", version="2022-amd1")
    old.refresh_from_db()
    assert new.is_current and not old.is_current and old.controls.count() == 93
    carried = new.controls.get(ref="A.8.15")
    assert (carried.owner, carried.status, carried.freshness_days) == (world.users["oncall"], "implemented", 30)
    assert new.controls.get(ref="A.8.35").status == "not_started"
    # the mapping now also covers the new version; the old version keeps its own
    assert ControlMapping.objects.filter(right__framework=new).count() == 135
    assert ControlMapping.objects.filter(right__framework=old).count() == 135
    assert load("--file", str(path)).count("already loaded") == 1


def test_the_same_version_with_other_content_is_refused(frameworks, tmp_path):
    doc = json.loads((DATA / "frameworks" / "soc2-2017-rev2022.json").read_text())
    doc["themes"][0]["controls"][0]["title"] = "Changed without a new version"
    path = tmp_path / "soc2.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(CommandError, match="framework_version_changed"):
        load("--file", str(path))
    assert Framework.objects.filter(key="soc2").count() == 1


def test_a_malformed_file_is_refused_with_its_code(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"schema": "tf-framework/1", "key": "x1", "name": "X", "version": "1", "themes": []}))
    with pytest.raises(CommandError, match="framework_file_shape"):
        load("--file", str(path))
    assert not Framework.objects.exists()
