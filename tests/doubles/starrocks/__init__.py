"""StarRocks TEST DOUBLE (not StarRocks): a fake FE (MySQL port) and BE (Stream Load HTTP) over DuckDB.

``engine`` holds the SQL engine (and lists its limits), ``mysql`` the MySQL-protocol front end,
``http`` the Stream Load endpoints. ``python -m tests.doubles.starrocks --help`` runs it alone.
"""
