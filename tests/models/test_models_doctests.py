"""The public model API's examples run: the registry (create, list_models, get_summary, count_params) and the
weights module (check_fit, average_states, build_model, load_model, card_path)."""

import doctest

import pytest

from sdr2hdr.models import registry, weights


@pytest.mark.parametrize("module, least", [(registry, 6), (weights, 8)], ids=lambda m: getattr(m, "__name__", m))
def test_examples_run(module, least):
    result = doctest.testmod(module)
    # a module without examples would pass with nothing run: require that they ran
    assert result.failed == 0 and result.attempted >= least, result
