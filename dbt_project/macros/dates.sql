{#- Date arithmetic and formatting that differs between DuckDB and StarRocks. Each concept is one
    macro dispatched on the adapter (`default__` = DuckDB, `starrocks__` = StarRocks); models
    never test `target.type` themselves. -#}

{#- First day of the month of a date, as a date. StarRocks's date_trunc returns DATE or DATETIME
    depending on the release, DuckDB's returns DATE: the cast makes both a DATE. -#}
{% macro month_start(date_expr) -%}
    {{ return(adapter.dispatch('month_start', 'datawiz')(date_expr)) }}
{%- endmacro %}

{% macro default__month_start(date_expr) -%}
    cast(date_trunc('month', {{ date_expr }}) as date)
{%- endmacro %}

{#- A date moved by a whole number of months (negative: back), as a date. A day that does not
    exist in the target month becomes its last day in both engines. -#}
{% macro add_months(date_expr, months) -%}
    {{ return(adapter.dispatch('add_months', 'datawiz')(date_expr, months)) }}
{%- endmacro %}

{% macro default__add_months(date_expr, months) -%}
    cast({{ date_expr }} + to_months(cast({{ months }} as integer)) as date)
{%- endmacro %}

{% macro starrocks__add_months(date_expr, months) -%}
    cast(months_add({{ date_expr }}, {{ months }}) as date)
{%- endmacro %}

{#- A date as ISO text, `YYYY-MM-DD`. -#}
{% macro date_to_iso(date_expr) -%}
    {{ return(adapter.dispatch('date_to_iso', 'datawiz')(date_expr)) }}
{%- endmacro %}

{% macro default__date_to_iso(date_expr) -%}
    strftime({{ date_expr }}, '%Y-%m-%d')
{%- endmacro %}

{% macro starrocks__date_to_iso(date_expr) -%}
    date_format({{ date_expr }}, '%Y-%m-%d')
{%- endmacro %}

{#- The calendar year in which the fiscal year of a date starts. The fiscal year starts on the
    first day of month `var('fiscal_year_start_month')` (4 = April: 2027-03-31 is in the fiscal
    year starting 2026, 2026-04-01 too). -#}
{% macro fiscal_year_start_year(date_expr, start_month=none) -%}
    {%- set start_month = start_month if start_month is not none else var('fiscal_year_start_month') | int -%}
    {%- if start_month == 1 -%}
    year({{ date_expr }})
    {%- else -%}
    (year({{ date_expr }}) - case when month({{ date_expr }}) < {{ start_month }} then 1 else 0 end)
    {%- endif -%}
{%- endmacro %}

{#- The fiscal year of a date as a label: `FY2026-27` for 2026-04-01 .. 2027-03-31 (April start).
    With a January start the fiscal year is the calendar year, labelled `FY2026`. -#}
{% macro fiscal_year_label(date_expr, start_month=none) -%}
    {%- set start_month = start_month if start_month is not none else var('fiscal_year_start_month') | int -%}
    {%- set start_year = datawiz.fiscal_year_start_year(date_expr, start_month) -%}
    {#- a null date has no label: DuckDB's concat skips a null where StarRocks' returns null,
        so the case keeps the two alike (no 'FY-' on DuckDB) -#}
    case when {{ date_expr }} is null then null else
    {%- if start_month == 1 %}
    concat('FY', {{ datawiz.to_text(start_year) }})
    {%- else %}
    concat(
        'FY',
        {{ datawiz.to_text(start_year) }},
        '-',
        lpad({{ datawiz.to_text('(' ~ start_year ~ ' + 1) % 100') }}, 2, '0')
    )
    {%- endif %}
    end
{%- endmacro %}

{#- The timestamp a whole number of days before now, in UTC: the loader writes its times
    (`loaded_at`, `_loaded_at`) in UTC, and StarRocks's now() is in the session's time zone
    (Asia/Shanghai by default). -#}
{% macro days_ago(days) -%}
    {{ return(adapter.dispatch('days_ago', 'datawiz')(days)) }}
{%- endmacro %}

{% macro default__days_ago(days) -%}
    (current_timestamp - to_days(cast({{ days }} as integer)))
{%- endmacro %}

{% macro starrocks__days_ago(days) -%}
    days_sub(utc_timestamp(), {{ days }})
{%- endmacro %}
