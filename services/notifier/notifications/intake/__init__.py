"""Taking events in: every arrival (a message, the order-wait sweep, a resume, a poison replay) becomes its
inbox row and, once its aggregate's order allows, its notification and delivery rows, in one transaction.

Entry points: ``consume.event_consume`` (the actor), ``group_commit.IntakeWriter`` (a worker's batches),
``inbox.inbox_take_many``, ``sweep``, ``resume.inbox_resume``. The order rule is ``ordering``.
"""
