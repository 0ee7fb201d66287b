"""Hostile and broken input (issue 7): fuzzing, linear time, escaping, files, read-only, exits."""
