import pytest


@pytest.fixture
def frameworks(db):
    """The bundled SOC 2 and ISO 27001 frameworks and their mapping, loaded: {key: Framework}."""
    from compliance import services
    from compliance.models import Framework

    services.frameworks_load(actor="tests")
    return {fw.key: fw for fw in Framework.objects.filter(is_current=True)}


@pytest.fixture
def control(frameworks):
    """SOC 2 CC8.1 (change management)."""
    return frameworks["soc2"].controls.get(ref="CC8.1")
