"""Training and test data: HDR sources, virtual cameras, degradations, manifests and torch datasets."""
