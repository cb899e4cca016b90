"""The REST verbs, one module each."""
