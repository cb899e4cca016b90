"""Developer tools: code generation from the upstream wire contracts."""
