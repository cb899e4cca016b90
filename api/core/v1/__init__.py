"""core/v1: Pod and the types it is made of, with defaulting, validation and manifest loading."""
