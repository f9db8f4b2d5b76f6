{#- A warning, not an error: a dimension's newest drop holds a quarantined file, so an older,
    whole drop is current (current_drop_versions) and the dimension misses that day's changes
    until the file is delivered again or a later whole drop lands. One row per such file, with
    the quarantine reason. -#}
{{ config(severity='warn', tags=['evening']) }}

with

ledger as (
    select * from {{ source('loader', 'load_ledger') }}
),

{% set dimensions = {
    'material_master': ref('stg_landing__material_master'),
    'material_code_map': ref('stg_landing__material_code_map'),
    'customer_master': ref('stg_landing__customer_master'),
    'tsr_hierarchy': ref('stg_landing__tsr_hierarchy'),
    'rls_user_access': ref('stg_landing__rls_user_access'),
} %}

current_drops as (
    {% for dataset, relation in dimensions.items() -%}
    select '{{ dataset }}' as dataset, max(drop_date) as drop_date from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

latest_entries as (
    select
        dataset,
        file_path,
        status,
        error,
        {{ datawiz.drop_date('file_path') }} as drop_date,
        row_number() over (partition by file_path order by loaded_at desc) as entry_rank
    from ledger
)

select
    latest_entries.dataset,
    latest_entries.file_path,
    latest_entries.drop_date as partial_drop_date,
    current_drops.drop_date as current_drop_date,
    latest_entries.error
from latest_entries
inner join current_drops on latest_entries.dataset = current_drops.dataset
where
    latest_entries.entry_rank = 1
    and latest_entries.status = 'quarantined'
    and (current_drops.drop_date is null or latest_entries.drop_date > current_drops.drop_date)
