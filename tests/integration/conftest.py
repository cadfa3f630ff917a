import pytest

from harness.errors import UserError
from harness.executors.docker import connect


@pytest.fixture(scope="module")
def engine():
    """A client of the Docker engine (DOCKER_HOST or the local socket); the test is skipped without one."""
    try:
        client = connect()
    except UserError as e:
        pytest.skip(str(e))
    yield client
    client.close()
