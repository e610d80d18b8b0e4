"""Inference: frames to HDR frames with a model or a classical mapping, and the conversion jobs.

``request`` (ConvertRequest, Settings: the options, checked once), ``paths`` (cheap path checks), ``mappers``
(which mapper a request selects; torch-free), ``stream`` (the StreamMapper interface), ``infer`` (models on
frames), ``convert`` (run a request), ``image`` / ``video`` (the jobs), ``pipeline`` (decode, map and encode in
threads), ``segments`` (long films in resumable pieces), ``cluster`` (the Ray session), ``lut`` / ``adaptive``
(code tables), ``report`` (ConvertReport, Progress).
"""
