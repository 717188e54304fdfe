"""Operators' actions on the notifier's records: replaying held messages (``redrive``), and what the admin's
action pages share (``admin_actions``). Delivery retries and endpoint actions are the delivery side's."""
