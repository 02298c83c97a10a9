"""The chat's pure rules: opening hours, routing, estimated wait and message limits (no I/O)."""
