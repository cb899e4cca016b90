"""Resources as data: one ``Strategy`` per kind, collected in ``RESOURCES``."""
