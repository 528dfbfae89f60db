"""The model zoo: the seed papers' networks by name. See `zoo.MODELS`."""
