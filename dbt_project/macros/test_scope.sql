{#- dbt's `get_where_subquery` (what a data test reads when it has a `where` config; overriding
    dbt's default__ through dispatch, as dbt's docs show for placeholders), with one
    placeholder: `__latest_build__`, the rows the last build of the tested model wrote
    (`_built_at` equal to its greatest value).

    The facts' row tests (not_null, accepted values, signs, relationships) use it. An incremental
    run writes a day's rows into a fact that holds years; a row test over the whole fact would
    check every morning the rows every earlier morning checked, and its cost would grow with the
    history instead of the day. After a full refresh every row has the same `_built_at`, so the
    whole fact is tested; a held row enriched again gets a new `_built_at`, so it is tested
    again. The table-level audits (unique key, reconciliation) read the whole fact, in the
    evening `audit` step.

    The value is read when the test runs and written as a literal (as the facts' watermark is,
    see `landed_since_watermark`): a constant lets DuckDB skip the row groups of older builds by
    their zone maps and StarRocks prune, where a subquery would scan the column first. An empty
    relation, and `dbt compile` (which must work offline), get the subquery. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__latest_build__' in where -%}
        {#- a test that runs reads the value; `dbt compile` (offline on StarRocks) does not -#}
        {%- if flags.WHICH in ('build', 'test', 'retry') -%}
            {%- set built_at = datawiz.max_value_as_text(relation, '_built_at') -%}
        {%- else -%}
            {%- set built_at = none -%}
        {%- endif -%}
        {%- if built_at is none -%}
            {%- set latest = '_built_at = (select max(_built_at) from ' ~ relation ~ ')' -%}
        {%- else -%}
            {%- set latest = "_built_at = '" ~ built_at ~ "'" -%}
        {%- endif -%}
        {%- set where = where | replace('__latest_build__', latest) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
