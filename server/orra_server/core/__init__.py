"""The shared core: what every room of the control plane may use and that uses no room.

Errors and their HTTP answers, identifiers and times, the ASCII grammars of text that arrives,
the limits on what a client may send, the status vocabulary, JSON Schema handling and the
redaction of secrets from logs. Nothing here imports ``api``, ``control``, ``engine``,
``planning``, ``store``, ``services`` or ``delivery`` (``tests/test_layers.py`` checks it).
"""
