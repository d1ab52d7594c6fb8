"""What every recipe section shares: the validated base, the number types, and a training stage's settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# A split size is a count of rows (>= 1) or a fraction of the cleaned data (0 < x < 1).
SplitSize = Annotated[float, Field(gt=0)]
LearningRate = Annotated[float, Field(gt=0, lt=1)]


class Section(BaseModel):
    """Base of every recipe section: unknown keys are errors, assignments are validated, numbers are finite."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class StageConfig(Section):
    epochs: float = Field(default=1.0, ge=0, le=1000)
    lr: LearningRate = 5e-5
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    max_steps: int | None = Field(default=None, ge=1)
