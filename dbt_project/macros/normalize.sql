{#- R1: codes lose leading/trailing whitespace and are upper-cased; an empty result is null.
    Whitespace is Unicode's White_Space: the ASCII blanks (space, tab, line feed, vertical tab,
    form feed, carriage return) and the others in unicode_blanks() (no-break space, the
    typographic spaces, the ideographic space, ...), which extracts from other systems carry. DuckDB's
    trim() takes the characters to strip; StarRocks's trim() strips spaces only, so there a
    regular expression removes them ([[:space:]] is the ASCII blanks; the Unicode ones are
    written into the class as characters, so no escape is read differently by either). -#}
{% macro trim_whitespace(expr) -%}
    {{ return(adapter.dispatch('trim_whitespace', 'datawiz')(expr)) }}
{%- endmacro %}

{% macro unicode_blanks() -%}
    {{- return('\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000') -}}
{%- endmacro %}

{% macro default__trim_whitespace(expr) -%}
    trim({{ expr }}, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || '{{ datawiz.unicode_blanks() }}')
{%- endmacro %}

{% macro starrocks__trim_whitespace(expr) -%}
    {%- set blanks = '[[:space:]' ~ datawiz.unicode_blanks() ~ ']+' -%}
    regexp_replace({{ expr }}, '^{{ blanks }}|{{ blanks }}$', '')
{%- endmacro %}

{% macro normalize_code(expr) -%}
    nullif(upper({{ datawiz.trim_whitespace(expr) }}), '')
{%- endmacro %}

{% macro normalize_email(expr) -%}
    nullif(lower({{ datawiz.trim_whitespace(expr) }}), '')
{%- endmacro %}

{#- The business date of a drop, from its landed path `<dataset>/dt=YYYY-MM-DD/<file>`. -#}
{% macro drop_date(source_file) -%}
    cast(substr(split_part({{ source_file }}, '/', 2), 4, 10) as date)
{%- endmacro %}

{#- R3 ordering of versions, newest first: greatest updated_at (a null one ranks lowest), then
    the later file (relative paths compared as strings), then the later row in that file. -#}
{% macro latest_version_order(updated_at='updated_at', source_file='_source_file', source_row='_source_row') -%}
    {%- if updated_at -%}
    case when {{ updated_at }} is null then 0 else 1 end desc,
    {{ updated_at }} desc,
    {% endif -%}
    {{ source_file }} desc,
    {{ source_row }} desc
{%- endmacro %}

{#- R3 for a dimension: the CTEs `current_drop` (every row of the greatest dt= drop; older drops
    are ignored entirely) and `deduplicated` (its rows ranked per key, newest first, rows with a
    null required column dropped). The model selects `version_rank = 1` from `deduplicated`.
    Our readings, for what the spec leaves open:
    - a file re-uploaded under the same name with other content replaces the earlier content in
      the snapshot: only the latest landed load of each file counts (else an access row the new
      content revokes at another row number would keep granting access);
    - a drop is a full snapshot only when every file of it landed: a drop with a file of which
      nothing landed (every ledger entry a quarantine) is not current, and the greatest whole
      drop stays current until the file is delivered again and lands, or a later whole drop
      arrives (taking the partial drop would drop every member the bad file held). With no
      whole drop at all (a first delivery), the greatest drop is current all the same. -#}
{% macro current_drop_versions(from_cte, dataset, key, required, updated_at='updated_at') -%}
partial_drops as (
    select distinct {{ datawiz.drop_date('file_path') }} as drop_date
    from {{ source('loader', 'load_ledger') }}
    where dataset = '{{ dataset }}'
    group by file_path
    having max(case when status = 'loaded' then 1 else 0 end) = 0
),

current_drop as (
    select * from (
        select
            *,
            max(_loaded_at) over (partition by _source_file) as _file_loaded_at
        from {{ from_cte }}
        where drop_date = coalesce(
            (
                select max(drop_date) from {{ from_cte }}
                where drop_date not in (
                    select drop_date from partial_drops where drop_date is not null
                )
            ),
            (select max(drop_date) from {{ from_cte }})
        )
    ) as landed
    -- (a row with no load time, as a unit test's, counts)
    where _file_loaded_at is null or _loaded_at = _file_loaded_at
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by {{ key | join(', ') }}
            order by {{ datawiz.latest_version_order(updated_at=updated_at) }}
        ) as version_rank
    from current_drop
    where {{ required | join(' is not null and ') }} is not null
)
{%- endmacro %}
