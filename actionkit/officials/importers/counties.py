"""Placeholder: being written."""
KIND = "counties"
ORDER = 10


def sniff(path, head):
    return False


def load(path, state, ctx):
    raise NotImplementedError
