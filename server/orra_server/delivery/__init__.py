"""What goes out to callers: signed result webhooks, where they may go, live event streams, and
an orchestration's events as log lines a person reads.
"""
