"""sdr2hdr: SDR to HDR10 conversion with neural networks and classical mappings.

The Python API (sdr2hdr.api) is imported on first use, so `import sdr2hdr` stays cheap (no torch, no PyAV):
convert(input, output, **options), create_model(name, pretrained=True), list_models(pretrained=None), InputError.
"""
__version__ = "0.1.0"

__all__ = ["InputError", "convert", "create_model", "list_models", "__version__"]

_API = {"convert", "create_model", "list_models"}


def __getattr__(name: str):
    # PEP 562: resolve the API names lazily; the CLI and `--version` need none of them
    if name in _API:
        from sdr2hdr import api

        return getattr(api, name)
    if name == "InputError":
        from sdr2hdr.errors import InputError

        return InputError
    raise AttributeError(f"module 'sdr2hdr' has no attribute {name!r}")
