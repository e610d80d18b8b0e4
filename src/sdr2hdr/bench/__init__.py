"""Quality and speed benchmarks of models and classical mappings on a built data set: tables, plots, HTML report.

Modules: ``methods`` (classical mappings and models with weights, timed; checkpoint averaging), ``scores`` (the
metrics reported), ``run`` (every method on every frame at every QP), ``heldout`` (the held-out-curve protocol),
``report`` (results.csv, summary.csv, results.md, plots, report.html) and ``commands`` (`sdr2hdr evaluate`,
`sdr2hdr benchmark`). The test split itself is read by ``data.split``.

The names below are imported on first use, so the CLI can register `bench.commands` without loading torch.
"""

from importlib import import_module

_WHERE = {"Method": "methods", "average_checkpoints": "methods", "classical_method": "methods",
          "model_method": "methods", "write_all": "report", "BenchResult": "run", "run_benchmark": "run"}

__all__ = list(_WHERE)


def __getattr__(name: str) -> object:
    # PEP 562: the module that defines the name is imported when the name is first asked for
    if name in _WHERE:
        return getattr(import_module(f"sdr2hdr.bench.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'sdr2hdr.bench' has no attribute {name!r}")
