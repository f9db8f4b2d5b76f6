{#- A warning, not an error: a dimension's newest drop holds a file of which nothing landed
    (every ledger entry of it a quarantine), so an older, whole drop is current
    (current_drop_versions) and the dimension misses that day's changes until the file is
    delivered again and lands, or a later whole drop arrives. One row per such file, with the
    latest quarantine reason. A dimension held back for longer than
    `var('dimension_held_back_error_days')` is an error of the evening audit step instead
    (assert_dimension_not_held_back). -#}
{{ config(severity='warn', tags=['evening']) }}

with

held_back_files as (
    {{ datawiz.dimension_files_held_back() }}
),

ledger as (
    select * from {{ source('loader', 'load_ledger') }}
),

latest_reasons as (
    select
        file_path,
        error,
        row_number() over (partition by file_path order by loaded_at desc) as entry_rank
    from ledger
    where status = 'quarantined'
)

select
    held_back_files.dataset,
    held_back_files.file_path,
    held_back_files.drop_date as partial_drop_date,
    held_back_files.current_drop_date,
    latest_reasons.error
from held_back_files
left join latest_reasons
    on held_back_files.file_path = latest_reasons.file_path and latest_reasons.entry_rank = 1
