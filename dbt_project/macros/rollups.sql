{#- rollup_config: the config() of a BI-facing rollup over the facts (models/marts/bi/).

    DuckDB (default): a table, built by every morning build right after the facts (it is
    tagged `morning`), so it is never older than the facts and there is nothing to refresh. A
    plain view would be as current, but each reader (and each of its data tests) would group the
    whole fact again: as a table the morning run aggregates once, and only the months the fact
    changed in (incremental by month, macros/monthly.sql).

    StarRocks: an async materialized view (dbt-starrocks `materialized_view`), hash-distributed
    on `distributed_by`. dbt-starrocks drops and re-creates it on every build (its
    `get_materialized_view_configuration_changes` reports no changes as "something changed",
    dbt-starrocks issue #49), so each morning build gives a new MV. It is created
    `REFRESH DEFERRED MANUAL`: no background refresh task at creation (IMMEDIATE would start an
    asynchronous one that the data tests could race) and no refresh on a schedule or on every
    load of the fact; instead the post-hook refreshes it `WITH SYNC MODE`, so the build returns
    with the MV filled and its data tests read the real rows. After that only the evening
    pipeline's `refresh-rollups` step refreshes it (pipeline/rollups.py), re-activating it
    first when a replaced base table made it inactive. -#}
{% macro rollup_config(distributed_by, buckets=1) -%}
    {{ return(adapter.dispatch('rollup_config', 'datawiz')(distributed_by, buckets)) }}
{%- endmacro %}

{% macro default__rollup_config(distributed_by, buckets) -%}
    {{ return(datawiz.default__monthly_mart_config(none, distributed_by, buckets)) }}
{%- endmacro %}


{% macro starrocks__rollup_config(distributed_by, buckets) -%}
    {{ return({
        'materialized': 'materialized_view',
        'refresh_method': 'deferred manual',
        'distributed_by': distributed_by,
        'buckets': buckets,
        'post_hook': ['refresh materialized view {{ this }} with sync mode'],
    }) }}
{%- endmacro %}
