"""PMS to QloApps: capture PMS changes in the outbox, relay them to the outbound queue, push reservations and customers."""
