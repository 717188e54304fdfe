"""Loaded by a worker after ``notifications.worker``: the worker becomes the next release (see next_release)."""

from tests.notifier.next_release import install

install()
