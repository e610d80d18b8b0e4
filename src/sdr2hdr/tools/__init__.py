"""Maintainer tools, each run as `python -m sdr2hdr.tools.NAME` (`--help` says more).

``ship_weights`` and ``ship_adaptive`` (trained weights into the package, with their cards), ``export_all`` (every
model to ONNX, checked), ``make_sample`` (the bundled demo clip), ``bench_convert`` (conversion speed),
``bench_memory`` (peak memory of a conversion) and ``bench_models`` (every model's speed, GPU or CPU). They sit on
top of the package, beside the CLI: nothing in it imports them.
"""
