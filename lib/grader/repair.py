"""The repair search (placeholder)."""


def search(child, g, owners, final):
    return None
