from workbench.core.recipe import Recipe
from workbench.core.resources import preset_path
from workbench.gui.main_window import MainWindow


def test_window_opens_on_the_quick_demo_recipe(qtbot):
    path = preset_path("quick-demo")
    window = MainWindow(Recipe.load(path), path)
    qtbot.addWidget(window)
    window.show()
    assert "quick-demo" in window.windowTitle()
    assert "bundled:all-MiniLM-L6-v2" in window.statusBar().currentMessage()


def test_bad_recipe_keeps_the_current_one(qtbot, tmp_path, monkeypatch):
    window = MainWindow(Recipe(name="kept"))
    qtbot.addWidget(window)
    shown = []
    monkeypatch.setattr("workbench.gui.main_window.QMessageBox.warning", lambda *a: shown.append(a[2]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  batch_size: -3\n")
    window.load_recipe(bad)
    assert window.recipe.name == "kept"
    assert "training.batch_size" in shown[0]
