{#- An error of the evening audit step (tag `audit`; the build only warns, through
    assert_dimension_newest_drop_is_whole): a dimension has been held back on an older, whole
    drop for more than `var('dimension_held_back_error_days')` days, because a newer drop holds
    a file of which nothing landed. One day's quarantined file is a warning someone reads in
    the run history; a dimension that stays days behind (new customers outside the
    distribution universe, new users without access) fails the run, which alerts and exits
    non-zero. Not a build test: a failing test in `dbt build` would skip the dimensions it
    reads, and the last whole drop is what they must keep serving. One row per held-back
    dimension, from when it was first held back (the first ledger entry of a file of a newer
    drop of which nothing landed). -#}
{{ config(severity='error', tags=['audit']) }}

with

held_back_files as (
    {{ datawiz.dimension_files_held_back() }}
)

select
    dataset,
    max(current_drop_date) as current_drop_date,
    max(drop_date) as newest_partial_drop_date,
    min(first_seen_at) as held_back_since
from held_back_files
group by dataset
having min(first_seen_at)
    < {{ datawiz.days_ago(var('dimension_held_back_error_days')) }}
