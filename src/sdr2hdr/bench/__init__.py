"""Quality and speed benchmarks of models and classical mappings on a built data set: tables, plots, HTML report.

Modules: ``dataset`` (the test split as clips; the only reader of the data set's manifest), ``methods`` (classical
mappings and models with weights, timed; checkpoint averaging), ``scores`` (the metrics reported), ``run`` (every
method on every frame at every QP), ``report`` (results.csv, summary.csv, results.md, plots, report.html) and
``commands`` (`sdr2hdr evaluate`, `sdr2hdr benchmark`).
"""

from sdr2hdr.data.split import TestClip, load_split

from .methods import Method, average_checkpoints, classical_method, model_method
from .report import write_all
from .run import BenchResult, run_benchmark

__all__ = ["TestClip", "load_split", "Method", "average_checkpoints", "classical_method", "model_method",
           "write_all", "BenchResult", "run_benchmark"]
