"""Loaded by SDNext / A1111 from the extension folder: hand over to the SDNext adapter.

Kept thin: the adapter imports nothing heavy, and all work happens after the
host has started (on_app_started, then a background thread).
"""

from lora_manager.host import sdnext

sdnext.install()
