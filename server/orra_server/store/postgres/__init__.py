"""The PostgreSQL backend of the store (``orra serve --db postgresql://…``), for replicas.

``store.PostgresStore`` is imported only when a ``postgresql://`` URL is given: psycopg is an
optional dependency (``pip install 'orra-studio[postgres]'``).
"""

from .url import is_postgres_url, password_of, safe_url, shown_db

__all__ = ["is_postgres_url", "password_of", "safe_url", "shown_db"]
