"""Placeholder: being written."""
KIND = "zips"
ORDER = 70


def sniff(path, head):
    return False


def load(path, state, ctx):
    raise NotImplementedError
