{#- Monthly relations built from fct_secondary_sales (mart_distribution_depth, the BI rollup):
    rebuilt month by month on DuckDB, in full on StarRocks. -#}


{#- monthly_mart_config: the config() of a relation with one set of rows per `month_start`, built
    from the sales fact.

    DuckDB (default): incremental `delete+insert` on `month_start`. A run rebuilds only the months
    the fact changed in since the relation's last build (`sales_months_to_rebuild`), and deletes
    the months the fact no longer has a single row of (a correction moved their last line
    away). A morning that adds one day rebuilds one or two months instead of thirteen; after an
    evening build, also the months of the facts enriched again (their members changed), and
    every month of mart_distribution_depth if a territory's universe changed.

    StarRocks: a table rebuilt by every run (Duplicate Key on `keys`, hash-distributed), as the
    distributed engine aggregates thirteen months in seconds; `dynamic_overwrite` of monthly
    partitions (StarRocks 3.4+) is the way to make it incremental there. -#}
{% macro monthly_mart_config(keys, distributed_by, buckets=1) -%}
    {{ return(adapter.dispatch('monthly_mart_config', 'datawiz')(keys, distributed_by, buckets)) }}
{%- endmacro %}

{% macro default__monthly_mart_config(keys, distributed_by, buckets) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': ['month_start'],
        'on_schema_change': 'fail',
        'post_hook': ["{{ datawiz.delete_months_without_sales() }}"],
    }) }}
{%- endmacro %}

{% macro starrocks__monthly_mart_config(keys, distributed_by, buckets) -%}
    {{ return({
        'materialized': 'table',
        'table_type': 'DUPLICATE',
        'keys': keys,
        'distributed_by': distributed_by,
        'buckets': buckets,
    }) }}
{%- endmacro %}


{#- is_incremental() for a model whose materialization depends on the adapter: false, without
    asking the database, when the model is not incremental here (dbt's is_incremental() looks the
    relation up first, which an offline compile cannot). -#}
{% macro is_incremental_build() -%}
    {{ return(config.get('materialized') == 'incremental' and is_incremental()) }}
{%- endmacro %}


{#- The months (as ISO dates, the first of the month) that an incremental build of the calling
    model rebuilds: those of the fact rows written after the model's own last build (their
    `_built_at` is later than the newest `_built_at` the model holds), and those of every valid
    landed version of the same invoice lines (int_fis_line_months), because a correction that
    moves a line to another month changes the month it left too. None means every month: the
    model holds no rows yet, int_fis_line_months is behind the fact (a build that selected the
    model without it), or, with `universe`, an evening build changed the universe of a territory
    (int_master_data_changes) since the model's last build: every month reads the universe of
    the current master. Read when the model runs; only in an incremental run. -#}
{% macro sales_months_to_rebuild(universe=false) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- if datawiz.is_unit_test_fixture(this) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set built = datawiz.max_value_as_text(this, '_built_at') -%}
    {%- if built is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if universe and datawiz.pending_master_data_changes(this, ['universe'])['any'] -%}
        {{ log("the universe of a territory changed: every month of " ~ this ~ " is rebuilt", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {%- set check -%}
        select coalesce(
            (select max(_loaded_at) from {{ ref('fct_secondary_sales') }})
                > (select max(_loaded_at) from {{ ref('int_fis_line_months') }}),
            true
        )
    {%- endset -%}
    {%- if run_query(check).columns[0].values()[0] -%}
        {{ log("int_fis_line_months is behind the fact: every month of " ~ this ~ " is rebuilt", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        with

        written as (
            select invoice_no, invoice_line, invoice_date
            from {{ ref('fct_secondary_sales') }}
            where _built_at > '{{ built }}'
        ),

        written_keys as (
            select distinct invoice_no, invoice_line
            from written
        ),

        landed_months as (
            select line_months.month_start
            from {{ ref('int_fis_line_months') }} as line_months
            inner join written_keys
                on line_months.invoice_no = written_keys.invoice_no
                and line_months.invoice_line = written_keys.invoice_line
        ),

        months as (
            select {{ datawiz.month_start('invoice_date') }} as month_start from written
            union all
            select month_start from landed_months
        )

        select distinct {{ datawiz.date_to_iso('month_start') }}
        from months
        where month_start is not null
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | map('string') | list) }}
{%- endmacro %}


{#- ISO month starts moved by `months` (e.g. -12: the same months a year earlier). -#}
{% macro shift_months(months, by) -%}
    {%- set shifted = [] -%}
    {%- for month in months -%}
        {%- set index = month[:4] | int * 12 + month[5:7] | int - 1 + by -%}
        {%- do shifted.append('%04d-%02d-01' | format(index // 12, index % 12 + 1)) -%}
    {%- endfor -%}
    {{ return(shifted) }}
{%- endmacro %}


{#- A filter on `column` (a month start) for `months`: every month when `months` is none, no
    month when it is empty. -#}
{% macro in_months(column, months) -%}
    {%- if months is none -%}
    1 = 1
    {%- elif months | length == 0 -%}
    1 = 0
    {%- else -%}
    {{ column }} in (
        {%- for month in months | unique | sort -%}
        cast('{{ month }}' as date){{ ', ' if not loop.last }}
        {%- endfor -%}
    )
    {%- endif -%}
{%- endmacro %}


{#- A filter on a date column for the dates in `months` (none: every date): one range per run of
    consecutive months, on the bare column, so that the database skips the row groups of the
    other months (zone maps; DuckDB pushes an `or` of ranges on one column into its scan) before
    it computes anything. A single range from the first to the last month would read all the
    months between, e.g. the twelve between a month and the same month a year later. -#}
{% macro dates_in_months(date_column, months) -%}
    {%- if months is none or months | length == 0 -%}
    {{ datawiz.in_months(datawiz.month_start(date_column), months) }}
    {%- else -%}
    {%- set ranges = [] -%}
    {%- for month in months | unique | sort -%}
        {%- set following = datawiz.shift_months([month], 1)[0] -%}
        {%- if ranges and ranges[-1][1] == month -%}
            {%- set first = ranges.pop()[0] -%}
            {%- do ranges.append([first, following]) -%}
        {%- else -%}
            {%- do ranges.append([month, following]) -%}
        {%- endif -%}
    {%- endfor -%}
    (
        {%- for first, last in ranges %}
        ({{ date_column }} >= cast('{{ first }}' as date) and {{ date_column }} < cast('{{ last }}' as date))
        {{- ' or' if not loop.last }}
        {%- endfor %}
    )
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of an incremental monthly relation: delete the months of which the sales fact has
    no row left. -#}
{% macro delete_months_without_sales() -%}
    {%- if datawiz.is_incremental_build() -%}
    delete from {{ this }}
    where month_start not in (
        select distinct {{ datawiz.month_start('invoice_date') }}
        from {{ ref('fct_secondary_sales') }}
        where invoice_date is not null
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
