"""The job's stages in pipeline order (listed in core/job.py) and the context they share."""
