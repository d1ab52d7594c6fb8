"""The window's app collects Python's reference cycles only in the GUI thread (gui/app.py): a collection in the
job's thread that frees Qt objects deadlocks Qt's connection lock against the GIL."""

import gc
import threading

from workbench.gui.app import collect_garbage_in_gui_thread


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_cycles_are_collected_by_the_gui_threads_timer_and_never_by_another_thread(qtbot):
    collected_in: list[str] = []
    gc.callbacks.append(lambda phase, info: collected_in.append(threading.current_thread().name)
                        if phase == "stop" else None)
    try:
        collector = collect_garbage_in_gui_thread()
        assert not gc.isenabled()  # no automatic collection, which runs in whichever thread allocates
        worker = threading.Thread(target=lambda: [Cycle() for _ in range(50_000)], name="job")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: bool(collected_in), timeout=5000)
        assert set(collected_in) == {threading.main_thread().name}
        collector.timer.stop()
    finally:
        gc.callbacks.pop()
        gc.enable()
