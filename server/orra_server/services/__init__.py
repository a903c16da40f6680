"""The service side: the services and agents that register and hold a websocket.

``registry`` keeps what each service offers, ``connections`` who is online and where a task
goes, ``frames`` the wire protocol of ``docs/protocol.md`` both ways.
"""
