"""Object metadata, field errors and the JSON codec shared by every API group."""
