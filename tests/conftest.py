"""Shared fixtures: `backend` runs a test once per code generator (numpy, triton).

    def test_something(backend):
        out = run(graph, x, backend=backend)   # from tests.backends

Without a GPU the Triton backend runs its kernels under Triton's interpreter on the CPU."""
import pytest

from ddc.codegen import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param
