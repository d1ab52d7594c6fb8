"""The compression methods, one module each, and their registry (registry.py): see method.py."""
