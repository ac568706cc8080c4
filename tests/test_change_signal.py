"""The one change signal (EventBus library.changed): who hears what, and on which thread."""

from __future__ import annotations

import threading

from lora_manager.events import EventBus, LibraryChanged


def test_listeners_hear_file_and_edit_changes_as_they_asked():
    bus = EventBus()
    heard: dict[str, list] = {"all": [], "files": [], "inline": []}
    threads: dict[str, set[str]] = {"all": set(), "inline": set()}
    done = threading.Semaphore(0)

    def listener(name):
        def hear(change: LibraryChanged) -> None:
            heard[name].append(change.ids)
            threads.setdefault(name, set()).add(threading.current_thread().name)
            if name != "inline":
                done.release()
        return hear

    bus.on_library_changed(listener("all"))
    bus.on_library_changed(listener("files"), files_only=True)
    bus.on_library_changed(listener("inline"), inline=True)
    bus.library_changed()  # files
    bus.library_changed([3, 1])  # an edit
    for _ in range(3):  # all: 2, files: 1
        assert done.acquire(timeout=10)
    assert sorted(heard["all"], key=str) == sorted([None, (3, 1)], key=str)
    assert heard["files"] == [None] and heard["inline"] == [None, (3, 1)]
    # inline runs on the caller's thread; the others never do
    assert threads["inline"] == {threading.current_thread().name}
    assert threads["all"] == threads["files"] == {"lora-manager-changed"}


def test_a_failing_listener_is_logged_and_the_others_still_hear(caplog):
    bus = EventBus()
    got = threading.Event()
    bus.on_library_changed(lambda change: 1 / 0, inline=True)
    bus.on_library_changed(lambda change: 1 / 0)
    bus.on_library_changed(lambda change: got.set())
    bus.library_changed()  # never raises into the caller
    assert got.wait(10)
    assert "library change listener failed" in caplog.text
