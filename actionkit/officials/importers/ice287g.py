"""Placeholder: being written."""
KIND = "ice287g"
ORDER = 50


def sniff(path, head):
    return False


def load(path, state, ctx):
    raise NotImplementedError
