"""Notifications: reminders, digests and reports that go out by themselves.

:mod:`.addresses` checks e-mail addresses and webhook URLs; :mod:`.outbox` is the transactional
outbox (messages written in the transaction of their event, claimed and sent once);
:mod:`.channels` delivers them (SMTP, signed webhook); :mod:`.templates` writes them (Vietnamese,
Jinja2, user text escaped in HTML); :mod:`.notices` decides what goes to whom and when (reminder,
missing, digest, report, pace, review); :mod:`.scheduler` runs the jobs exactly once per day across
replicas and drives the sender; :mod:`.subscriptions` holds users' addresses, their choices and the
provinces' webhooks, and builds the views of the page. See docs/notifications.md.
"""
