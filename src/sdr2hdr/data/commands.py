"""`sdr2hdr data ...`: gather HDR sources, build paired SDR/HDR sets, and show them."""


def register(sub) -> None:
    """Add the `data` command and its sub-commands to the CLI's sub-parsers."""
    sub.add_parser("data", help="training and test data (see `sdr2hdr data -h`)")
