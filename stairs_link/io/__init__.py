"""Low-level input: reading export files and selecting values inside nested records."""
