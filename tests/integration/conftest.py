import pytest

from harness.errors import UserError
from harness.executors.docker import connect

from .cluster_env import host_image, snapshot


@pytest.fixture(scope="module")
def engine():
    """A client of the Docker engine (DOCKER_HOST or the local socket); the test is skipped without one."""
    try:
        client = connect()
    except UserError as e:
        pytest.skip(str(e))
    yield client
    client.close()


@pytest.fixture(scope="module")
def image(engine):
    """The cluster tests' host image (built once per machine)."""
    return host_image(engine)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A snapshot of this checkout, committed, that the cluster tests' hosts run."""
    return snapshot(tmp_path_factory.mktemp("checkout"))
