{#- R1: codes lose leading/trailing whitespace and are upper-cased; an empty result is null.
    Whitespace is Unicode's White_Space: the ASCII blanks (space, tab, line feed, vertical tab,
    form feed, carriage return: [[:space:]]) and the others in unicode_blanks() (no-break
    space, the typographic spaces, the ideographic space, ...), which extracts from other
    systems carry. Regular expressions remove them on both adapters (trim_whitespace below;
    StarRocks's trim() strips spaces only; DuckDB's trim() with this set of characters is 3-4
    times slower than the expressions over 10M values). The Unicode ones are written into the class as characters, so
    no escape is read differently by either engine. -#}

{% macro unicode_blanks() -%}
    {{- return('\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000') -}}
{%- endmacro %}

{% macro whitespace_run() -%}
    {{- return('[[:space:]' ~ datawiz.unicode_blanks() ~ ']+') -}}
{%- endmacro %}

{#- The same SQL on both adapters: two anchored replacements, each matching at most once, so
    it is right whether the engine replaces every match or the first only (DuckDB without 'g';
    StarRocks builds since its PR #64727 replace the first match only when the pattern starts
    with ^ or ends with $, so one '^x+|x+$' pattern would leave the trailing blanks). -#}
{% macro trim_whitespace(expr) -%}
    regexp_replace(regexp_replace({{ expr }}, '^{{ datawiz.whitespace_run() }}', ''), '{{ datawiz.whitespace_run() }}$', '')
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

{#- A row per file of the datasets, from the load ledger (small: a row per file version):
    dataset, file_path, drop_date, `loaded_at` = the file's latest landed load (an empty
    re-upload, every row withdrawn, lands no row but is the file's content all the same), null
    when nothing of the file landed (every ledger entry a quarantine: the drop is not whole), and
    `first_seen_at`, when the loader first met the file. The rule "a drop is whole when every
    file of it landed" is written once, over these rows: in current_drop_versions and in the
    tests that watch the dimensions' drops. -#}
{% macro ledger_files(datasets) -%}
    select
        ledger.dataset,
        ledger.file_path,
        {{ datawiz.drop_date('ledger.file_path') }} as drop_date,
        max(case when ledger.status = 'loaded' then ledger.loaded_at end) as loaded_at,
        min(ledger.loaded_at) as first_seen_at
    from {{ source('loader', 'load_ledger') }} as ledger
    where ledger.dataset in ('{{ datasets | join("', '") }}')
    group by ledger.dataset, ledger.file_path
{%- endmacro %}

{#- Per dataset, from ledger_files rows (the relation or CTE named): the current drop, the
    greatest drop every file of which landed; with none, the greatest drop with any landed
    file. -#}
{% macro current_drop_dates(ledger_files) -%}
    select dataset, coalesce(max(whole_drop), max(drop_date)) as drop_date
    from (
        select
            dataset,
            drop_date,
            case when min(case when loaded_at is null then 0 else 1 end) = 1
                then drop_date end as whole_drop
        from {{ ledger_files }}
        group by dataset, drop_date
        having max(loaded_at) is not null
    ) as drops
    group by dataset
{%- endmacro %}

{#- The dimensions' files that hold a dataset back: a file of which nothing landed, in a drop
    newer than the dataset's current drop (or of a dataset with no current drop at all). A row
    per file: dataset, file_path, drop_date, current_drop_date (null: none), first_seen_at. -#}
{% macro dimension_files_held_back() -%}
    {%- set datasets = [
        'material_master', 'material_code_map', 'customer_master', 'tsr_hierarchy',
        'rls_user_access'] -%}
    {%- set ledger_files = '(' ~ datawiz.ledger_files(datasets) ~ ')' -%}
    {#- (not aliased `files`: a StarRocks keyword, the FILES() table function) -#}
    select
        ledger_file.dataset,
        ledger_file.file_path,
        ledger_file.drop_date,
        current_drops.drop_date as current_drop_date,
        ledger_file.first_seen_at
    from {{ ledger_files }} as ledger_file
    left join ({{ datawiz.current_drop_dates(ledger_files ~ ' as every_file') }}) as current_drops
        on ledger_file.dataset = current_drops.dataset
    where
        ledger_file.loaded_at is null
        and (current_drops.drop_date is null or ledger_file.drop_date > current_drops.drop_date)
{%- endmacro %}

{#- R3 for a dimension: the CTEs `current_drop` (every row of the greatest dt= drop; older drops
    are ignored entirely) and `deduplicated` (its rows ranked per key, newest first, rows with a
    null required column dropped). The model selects `version_rank = 1` from `deduplicated`.
    Our readings, for what the spec leaves open:
    - a file re-uploaded under the same name with other content replaces the earlier content in
      the snapshot: only the latest landed load of each file counts, by the load ledger (else an
      access row the new content revokes at another row number, or an empty re-upload, would
      keep granting access);
    - a drop is a full snapshot only when every file of it landed: a drop with a file of which
      nothing landed (every ledger entry a quarantine) is not current, and the greatest whole
      drop stays current until the file is delivered again and lands, or a later whole drop
      arrives (taking the partial drop would drop every member the bad file held). With no
      whole drop at all (a first delivery), the greatest drop is current all the same.
    The drops are read from the load ledger (a row per file version), not from the rows: a file
    is in the current drop once its ledger row is written, which the loader does in the same
    transaction (DuckDB) or right after the Stream Load (StarRocks). -#}
{% macro current_drop_versions(from_cte, dataset, key, required, updated_at='updated_at') -%}
-- what the loader recorded of this dataset's files (small: a row per file version), so the
-- drop is chosen without reading the rows
ledger_files as (
    {{ datawiz.ledger_files([dataset]) }}
),

current_drop_date as (
    {{ datawiz.current_drop_dates('ledger_files') }}
),

current_drop as (
    select landed.* from (
        select
            {{ from_cte }}.*,
            max(_loaded_at) over (partition by _source_file) as _file_loaded_at
        from {{ from_cte }}
        inner join current_drop_date on {{ from_cte }}.drop_date = current_drop_date.drop_date
    ) as landed
    left join ledger_files on landed._source_file = ledger_files.file_path
    -- the rows of the file's latest load (its newest rows where the ledger has no entry; a row
    -- with no load time, as a unit test's, counts). Compared to the second: the ledger row and
    -- the data rows reach StarRocks by different paths (INSERT, Stream Load), and two loads of
    -- one file are runs apart
    where
        landed._loaded_at is null
        or date_trunc('second', landed._loaded_at)
        = date_trunc('second', coalesce(ledger_files.loaded_at, landed._file_loaded_at))
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
