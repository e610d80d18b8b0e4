"""Quality and speed benchmarks of models and classical mappings on a built data set: tables, plots, HTML report.

Modules: ``dataset`` (the test split as clips; the only reader of the data set's manifest), ``methods`` (classical
mappings and models with weights, timed; checkpoint averaging), ``scores`` (the metrics reported), ``run`` (every
method on every frame at every QP), ``report`` (results.csv, summary.csv, results.md, plots, report.html) and
``commands`` (`sdr2hdr evaluate`, `sdr2hdr benchmark`).

The names below are imported on first use, so the CLI can register `bench.commands` without loading torch.
"""

from importlib import import_module

_WHERE = {"TestClip": "dataset", "load_split": "dataset", "Method": "methods", "average_checkpoints": "methods",
          "classical_method": "methods", "model_method": "methods", "write_all": "report",
          "BenchResult": "run", "run_benchmark": "run"}

__all__ = list(_WHERE)


def __getattr__(name: str) -> object:
    # PEP 562: the module that defines the name is imported when the name is first asked for
    if name in _WHERE:
        return getattr(import_module(f"sdr2hdr.bench.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'sdr2hdr.bench' has no attribute {name!r}")
