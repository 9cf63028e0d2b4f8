"""Placeholder: being written."""
KIND = "congress"
ORDER = 30


def sniff(path, head):
    return False


def load(path, state, ctx):
    raise NotImplementedError
