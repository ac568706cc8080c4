"""Change notices between hosts (hosts/notices.py): how the changes said on one host are batched into the
notices the others hear, through real PostgreSQL NOTIFY/LISTEN."""

from __future__ import annotations

import json

from .test_hosts import _host, pg_url  # noqa: F401 - the fixture


def test_fills_and_edits_said_together_travel_in_notices_of_their_own(tmp_path, pg_url):  # noqa: F811
    """Changes said while the sender was busy go out together; a person's edits and a pass's fills never share
    a notice (the other hosts' write-back writes after an edit only), and a change of files says it all. Sent
    through PostgreSQL's NOTIFY and heard on a LISTENing connection, as another host hears them."""
    from lora_manager.events import EventBus, LibraryChanged
    from lora_manager.hosts.notices import Notices

    a = _host(tmp_path, pg_url, "host-a", tmp_path / "a")
    store = a.hosts.notices.store
    listening = store.listen()
    try:
        def sent(*changes):
            notices = Notices(store, "host-a", EventBus(), db=None)
            for change in (*changes, None):
                notices._out.put(change)
            notices._send()  # one batch: everything queued, then the end
            heard = []
            for note in listening.notifies(timeout=5, stop_after=notices.sent):
                p = json.loads(note.payload)
                heard.append((p["files"], p["ids"], p["filled"]))
            return heard

        fill, edit = LibraryChanged((1, 2), filled=True), LibraryChanged((9,))
        assert sent(fill, edit, LibraryChanged((2, 3), filled=True)) == [(False, [9], False),
                                                                         (False, [1, 2, 3], True)]
        assert sent(fill) == [(False, [1, 2], True)] and sent(edit) == [(False, [9], False)]
        assert sent(fill, LibraryChanged(None), edit) == [(True, None, False)]
    finally:
        listening.close()
        a.close()
