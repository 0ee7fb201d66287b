"""Independent Q178436 world generator and variation matrix (test-only; not shipped)."""
