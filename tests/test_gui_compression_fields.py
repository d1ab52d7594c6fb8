"""The Compression panel's pruning and quantization fields: the recipe's own choices, bounds and messages."""

from PySide6.QtCore import Qt

from tests.gui_support import edit, open_tiny_window, settings  # noqa: F401 (fixtures)


def test_new_compression_fields_edit_the_recipe_within_its_bounds(qtbot, recipe_path, settings, request):  # noqa: F811
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    editor = window.editor
    window.show_panel("Compression")
    importance = editor.fields("pruning.importance")[0].widget
    assert [importance.itemData(i) for i in range(importance.count())] == ["gradient", "l1", "l2", "magnitude"]
    importance.setCurrentIndex(importance.findData("l1"))
    assert window.recipe.pruning.importance == "l1"

    threshold, ffn = editor.fields("pruning.threshold")[0], editor.fields("pruning.ffn_ratio")[0]
    edit(qtbot, threshold, "0.3")
    assert window.recipe.pruning.threshold == 0.3
    edit(qtbot, ffn, "0.5")
    assert "either threshold or" in ffn.problem()
    qtbot.keyClick(threshold.widget, Qt.Key.Key_Backspace)  # "0." is still a number
    qtbot.keyClick(threshold.widget, Qt.Key.Key_Backspace)
    qtbot.keyClick(threshold.widget, Qt.Key.Key_Backspace)  # empty: off, the ratio alone is valid again
    assert ffn.problem() is None and window.recipe.pruning.threshold is None and window.recipe.pruning.ffn_ratio == 0.5

    sparsity = editor.fields("pruning.unstructured_sparsity")[0]
    edit(qtbot, sparsity, "1.5")
    assert "less than 1" in sparsity.problem()
    edit(qtbot, sparsity, "0.6")
    assert window.recipe.pruning.unstructured_sparsity == 0.6

    block = editor.fields("quantization.int4_block_size")[0].widget
    assert (block.minimum(), block.maximum()) == (16, 256)
    block.setValue(48)
    assert "power of two" in editor.fields("quantization.int4_block_size")[0].problem()
    block.setValue(64)
    editor.fields("quantization.int4")[0].widget.setChecked(True)
    assert window.recipe.quantization.int4 and window.recipe.quantization.int4_block_size == 64

    qat, drop = editor.fields("quantization.qat_epochs")[0], editor.fields("quantization.max_accuracy_drop")[0]
    edit(qtbot, qat, "1")
    assert "max_accuracy_drop" in qat.problem()
    edit(qtbot, drop, "0.01")
    assert qat.problem() is None and window.recipe.quantization.max_accuracy_drop == 0.01


def test_the_student_estimate_says_what_threshold_and_sparsity_will_do():
    from workbench.core.methods.registry import pruning_estimate as pruning_text
    from workbench.core.recipe import PruningConfig

    text = pruning_text(PruningConfig(enabled=True, threshold=0.2, threshold_units="ffn",
                                      unstructured_sparsity=0.5), heads=12, ffn_size=1536)
    assert "FFN neurons below 0.2" in text and "50% of encoder weights zeroed" in text
