"""The runtime: the broker and its queues, the dead-letter queue, the per-process resources of a worker and the dramatiq middleware that manages them."""
