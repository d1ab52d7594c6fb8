"""The colours of every chart, the window's live plots and the report's figures alike: a loss component, a
model or a run looks the same wherever it is drawn. Plain hex strings: no plotting library is loaded here."""

from __future__ import annotations

# Keyed by the names the core logs (Step.losses), as the recipe spells them: `hard_label`, never `hard label`.
COMPONENT_COLOURS = {"total": "#212121", "embedding": "#1e88e5", "hidden": "#43a047", "attention": "#fb8c00",
                     "prediction": "#8e24aa", "hard_label": "#e53935"}
# Runs and models in turn; no red in it, the colour of a flag (FLAG_RED) and of the hard-label loss.
PALETTE = ("#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41", "#d81b60")
TEACHER_GREY, FLAG_RED = "#757575", "#c62828"
