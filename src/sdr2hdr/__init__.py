"""sdr2hdr: SDR to HDR10 conversion with neural networks and classical mappings."""
__version__ = "0.1.0"
