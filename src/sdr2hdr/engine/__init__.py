"""Inference: frames to HDR frames with a model or a classical mapping, and the video conversion pipeline."""
