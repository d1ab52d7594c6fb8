from workbench.core.errors import WorkbenchError


class DeployError(WorkbenchError):
    """A run that cannot be deployed (unfinished, no model to ship) or a folder the bundle cannot go to."""
