"""Several replicas of the control plane on one PostgreSQL database (docs/scale-out.md).

Only for ``--db postgresql://…``: with a DuckDB file there is one process and nothing here
runs. ``replica.py`` is the replica's life (heartbeat, takeover, relaying, inbox);
``remote.py`` a service socket another replica holds; ``listener.py`` the LISTEN connection.
"""

from .replica import Cluster

__all__ = ["Cluster"]
