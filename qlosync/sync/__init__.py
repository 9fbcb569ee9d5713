"""Sync logic, one package per direction (inbound, outbound) plus ari; locks, conflicts, push tokens and the shop service are shared."""
