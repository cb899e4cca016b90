"""In-process launchers of tinykube's servers for tests of their clients."""
