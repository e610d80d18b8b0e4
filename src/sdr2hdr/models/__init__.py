"""Neural SDR -> HDR models: the four papers' networks and their baselines, behind one registry.

Public surface: create(name, **kwargs), list_models(pattern), get_summary(name), count_params(model),
summaries_table(), cost_table(). The input/output contract every model follows is documented in registry.py.
"""

from .registry import (
    ModelSummary,
    cost_table,
    count_params,
    create,
    get_summary,
    list_models,
    register_model,
    summaries_table,
)

# importing the model modules registers them
from . import adaptive_itm, agcm, csrnet, deep_sr_itm, didnet, dncnn, gpgmnet, hdrtvnet, hdrunet, informed, kpnet  # noqa: E402,F401 isort:skip

__all__ = [
    "ModelSummary",
    "summaries_table",
    "cost_table",
    "count_params",
    "create",
    "get_summary",
    "list_models",
    "register_model",
]
