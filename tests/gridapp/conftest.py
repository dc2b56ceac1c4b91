import pytest

from tests.mqtt import broker_url


@pytest.fixture(scope="module")
def broker():
    """The MQTT broker (``tests.mqtt``): skipped without one, except on CI."""
    return broker_url()
