"""core/v1 over the generated model (`api.model.core_v1`): defaulting, validation, manifest loading."""
