"""Placeholder: being written."""
KIND = "openstates"
ORDER = 40


def sniff(path, head):
    return False


def load(path, state, ctx):
    raise NotImplementedError
