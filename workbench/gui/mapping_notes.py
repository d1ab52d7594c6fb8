"""The notes under the layer-mapping view: what the drawn mapping means and why the job would refuse it,
in the core's own words (Qt-free)."""

from __future__ import annotations

from workbench.core.api import LayerMapping
from workbench.core.recipe import Recipe
from workbench.gui.model_info import ModelsInfo


def mapping_notes(recipe: Recipe, heads: tuple[int, int] | None, info: ModelsInfo, mapping: LayerMapping | None,
                  mapping_error: str, selected_student: int | None) -> str:
    """Rich text: problems in red first, then notes."""
    notes, problems = [], []
    if heads and heads[0] != heads[1]:
        relation = recipe.distillation.attention_loss == "relation"
        notes.append(f"The teacher has {heads[0]} attention heads and the student {heads[1]}: "
                     + ("relations (MiniLM) compare Q, K and V relations, which any head counts allow."
                        if relation else "the scores loss needs equal head counts, so it is off and only "
                        "hidden states are matched; choose relations (MiniLM) to distil attention anyway."))
    if info.layers is None:
        problems.append(info.teacher_error or info.student_error or "")
        if not any(problems):
            return "<i>Reading the teacher and student shapes…</i>"
    elif mapping is None:
        problems.append(mapping_error)
    elif mapping.note:
        notes.append(mapping.note)
    if recipe.mapping.mode == "custom":
        if selected_student is None:
            notes.append("Custom mode: drag from a student layer to the teacher layer it should learn from "
                         "(or click one, then the other).")
        else:
            notes.append(f"Student layer {selected_student} selected: now click a teacher layer "
                         "(embeddings count as layer 0).")
    if not recipe.mapping.hidden and not recipe.mapping.attention:
        notes.append("Hidden and attention losses are both off: the intermediate stage learns from the "
                     "embeddings only.")
    if not notes and not any(problems):
        notes.append("Each line: the student layer on the right learns from the teacher layer on the left "
                     "(n = g(m)); embeddings and prediction layers always pair up.")
    lines = [f"<span style='color:#c62828'>⚠ {p}</span>" for p in problems if p]
    return "<br>".join(lines + [f"<span style='color:#455a64'>{n}</span>" for n in notes])
