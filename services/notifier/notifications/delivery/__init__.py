"""Delivery: sending what intake committed (e-mails, webhooks), apart from intake.

Intake writes a delivery row in the transaction that takes its event in and never contacts a
receiver. The delivery workers (``manage.py deliveries_run``) claim due deliveries, send each once
per claim, record every attempt and schedule the next one (``schedule``), at most
``NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY`` at a time per webhook endpoint, with a circuit breaker and
endpoint states (``endpoints``). Channels are registered in ``channels``.
"""
