"""The scheduling framework: extension points, statuses, the snapshot and the per-profile runtime."""
