-- DataWiz on a single-node StarRocks (3.x): the administrator's one-time setup.
-- Run as root (or a user_admin + db_admin): mysql -h <fe> -P9030 -uroot < setup.sql
-- docker-compose.yml runs it after StarRocks is healthy. Idempotent. Passwords here are for
-- the local dev/test container only; set real ones (ALTER USER ... IDENTIFIED BY ...) anywhere else.

-- One BE: every table with one replica (the default is 3 and table creation would fail).
ADMIN SET FRONTEND CONFIG ('default_replication_num' = '1');

-- raw: the loader's landing tables and load ledger; staging and marts: dbt's; ops: run history.
-- dbt's databases must exist before its first run: dbt-starrocks's threads otherwise race to
-- create the profile's database on their first connections and one fails with 1007.
CREATE DATABASE IF NOT EXISTS raw;
CREATE DATABASE IF NOT EXISTS staging;
CREATE DATABASE IF NOT EXISTS marts;
CREATE DATABASE IF NOT EXISTS ops;

-- Loader: creates raw tables on first use (and adds columns on schema drift), Stream Loads into
-- them (INSERT), reads its ledger (SELECT), writes the run history in ops.
CREATE ROLE IF NOT EXISTS datawiz_loader_role;
GRANT CREATE TABLE ON DATABASE raw TO ROLE datawiz_loader_role;
GRANT SELECT, INSERT, ALTER ON ALL TABLES IN DATABASE raw TO ROLE datawiz_loader_role;
GRANT CREATE TABLE ON DATABASE ops TO ROLE datawiz_loader_role;
GRANT SELECT, INSERT, DELETE ON ALL TABLES IN DATABASE ops TO ROLE datawiz_loader_role;

-- dbt: reads raw, owns staging and marts (CTAS, DROP, ALTER ... SWAP/RENAME, INSERT, DELETE,
-- views, materialized views).
CREATE ROLE IF NOT EXISTS datawiz_dbt_role;
GRANT SELECT ON ALL TABLES IN DATABASE raw TO ROLE datawiz_dbt_role;
GRANT ALL ON DATABASE staging TO ROLE datawiz_dbt_role;
GRANT ALL ON DATABASE marts TO ROLE datawiz_dbt_role;
GRANT ALL ON ALL TABLES IN DATABASE staging TO ROLE datawiz_dbt_role;
GRANT ALL ON ALL TABLES IN DATABASE marts TO ROLE datawiz_dbt_role;
GRANT ALL ON ALL VIEWS IN DATABASE staging TO ROLE datawiz_dbt_role;
GRANT ALL ON ALL VIEWS IN DATABASE marts TO ROLE datawiz_dbt_role;
GRANT ALL ON ALL MATERIALIZED VIEWS IN DATABASE marts TO ROLE datawiz_dbt_role;

-- BI: reads the marts, nothing else (row-level security: the secure views over
-- rls_user_territory, docs/starrocks.md).
CREATE ROLE IF NOT EXISTS datawiz_bi_role;
GRANT SELECT ON ALL VIEWS IN DATABASE marts TO ROLE datawiz_bi_role;
GRANT SELECT ON ALL MATERIALIZED VIEWS IN DATABASE marts TO ROLE datawiz_bi_role;

-- The pipeline connects with one user for the loader and dbt (DATAWIZ_STARROCKS_USER), so it
-- holds both roles; a BI user holds only the BI role.
CREATE USER IF NOT EXISTS 'datawiz'@'%' IDENTIFIED BY 'datawiz-dev-only';
GRANT datawiz_loader_role, datawiz_dbt_role TO USER 'datawiz'@'%';
SET DEFAULT ROLE ALL TO 'datawiz'@'%';
CREATE USER IF NOT EXISTS 'datawiz_bi'@'%' IDENTIFIED BY 'datawiz-bi-dev-only';
GRANT datawiz_bi_role TO USER 'datawiz_bi'@'%';
SET DEFAULT ROLE ALL TO 'datawiz_bi'@'%';
