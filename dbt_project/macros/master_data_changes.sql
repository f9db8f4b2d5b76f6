{#- What the incremental facts and the distribution-depth mart need to know of a build of the
    dimensions: which members of the master data changed (int_master_data_changes), so that a morning
    enriches again only the held facts of those members. -#}


{#- member_fingerprint: one text per group of rows that changes whenever any of `columns` of any
    row of the group does (an md5 of the rows' values in `order_by` order). Each value is written
    as its length, a colon and its text, a null as `N`: a null and an empty text differ (R1 keeps
    both), and no value can pass for two. -#}
{% macro member_fingerprint(columns, order_by) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- set text = datawiz.to_text(column) -%}
        {#- a case, not coalesce(concat(...)): DuckDB's concat skips a null, StarRocks' is null -#}
        {%- do parts.append(
            "case when " ~ column ~ " is null then 'N' else concat("
            ~ datawiz.to_text("length(" ~ text ~ ")") ~ ", ':', " ~ text ~ ") end"
        ) -%}
    {%- endfor -%}
    md5({{ datawiz.ordered_text_agg("concat(" ~ parts | join(", '~', ") ~ ")", order_by) }})
{%- endmacro %}


{#- ordered_text_agg: the texts of a group joined with '|' in `order_by` order. DuckDB:
    string_agg; StarRocks: group_concat (dbt's listagg writes `within group`, which StarRocks
    does not parse), which cuts its result at the session's `group_concat_max_len` (1024
    characters by default): a model that uses it runs `long_text_agg_session()` as a pre-hook. -#}
{% macro ordered_text_agg(expr, order_by) -%}
    {{ return(adapter.dispatch('ordered_text_agg', 'datawiz')(expr, order_by)) }}
{%- endmacro %}

{% macro default__ordered_text_agg(expr, order_by) -%}
    string_agg({{ expr }}, '|' order by {{ order_by }})
{%- endmacro %}

{% macro starrocks__ordered_text_agg(expr, order_by) -%}
    group_concat({{ expr }} order by {{ order_by }} separator '|')
{%- endmacro %}


{#- long_text_agg_session: the pre-hook of a model that uses ordered_text_agg. StarRocks: lift
    `group_concat_max_len` for the model's session, so that a TSR with many hierarchy versions
    is fingerprinted whole (a cut text would hide a change in its later versions). DuckDB:
    nothing (an empty hook is not run). -#}
{% macro long_text_agg_session() -%}
    {{ return(adapter.dispatch('long_text_agg_session', 'datawiz')()) }}
{%- endmacro %}

{% macro default__long_text_agg_session() -%}
{%- endmacro %}

{% macro starrocks__long_text_agg_session() -%}
    set group_concat_max_len = 16777216
{%- endmacro %}


{#- The changes recorded since `relation` (an incremental model built from the master data: a
    fact, the distribution-depth mart) was last built: an SQL filter on int_master_data_changes'
    `_built_at`, whether any change of `kinds` is pending, and whether everything is (the
    `all` row a first build or full refresh of int_master_data_changes writes: it cannot tell
    which members changed or went). Read when the model runs, as one query: the model's newest
    `_built_at`, and the number of such changes recorded after it. A change is pending until
    the model's next build that writes a row (it reads the changes as they are when it runs;
    a build runs in one transaction, so a failed one leaves the change pending). Returns a
    dict: `filter` (the SQL condition on `_built_at`), `any` and `all` (true, false). In a unit
    test (`this` is a fixture) the filter is a subquery, `any` is true and `all` false. -#}
{% macro pending_master_data_changes(relation, kinds) -%}
    {%- set changes = ref('int_master_data_changes') -%}
    {%- if not execute or datawiz.is_unit_test_fixture(relation) -%}
        {{ return({
            'filter': "coalesce(_built_at > (select max(_built_at) from " ~ relation ~ "), true)",
            'any': true,
            'all': false,
        }) }}
    {%- endif -%}
    {%- set query -%}
        with

        pending as (
            select member_kind
            from {{ changes }}
            where coalesce(_built_at > (select max(_built_at) from {{ relation }}), true)
        )

        select
            (select concat('v', {{ datawiz.to_text('max(_built_at)') }}) from {{ relation }}),
            (select count(*) from pending where member_kind in ('{{ (kinds + ['all']) | join("', '") }}')),
            (select count(*) from pending where member_kind = 'all')
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- set built = datawiz.text_of_value(row[0]) -%}
    {{ return({
        'filter': '1 = 1' if built is none else "_built_at > '" ~ built ~ "'",
        'any': row[1] | int > 0,
        'all': row[2] | int > 0,
    }) }}
{%- endmacro %}
