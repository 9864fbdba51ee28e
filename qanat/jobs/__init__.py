"""What runs on a clock or a queue: the job queue, the nightly reconciliation and its
ledger and alerts, the daily report, the SLA watch, and the sources the night lists.
"""
