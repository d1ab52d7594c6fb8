"""The PySide6 window: edits recipes, runs the core, renders its events."""
