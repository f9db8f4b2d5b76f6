{#- A warning, not an error: a dimension's newest drop holds a file of which nothing landed
    (every ledger entry of it a quarantine), so an older, whole drop is current
    (current_drop_versions) and the dimension misses that day's changes until the file is
    delivered again and lands, or a later whole drop arrives. One row per such file, with the
    latest quarantine reason. -#}
{{ config(severity='warn', tags=['evening']) }}

{% set dimensions = {
    'material_master': ref('stg_landing__material_master'),
    'material_code_map': ref('stg_landing__material_code_map'),
    'customer_master': ref('stg_landing__customer_master'),
    'tsr_hierarchy': ref('stg_landing__tsr_hierarchy'),
    'rls_user_access': ref('stg_landing__rls_user_access'),
} %}

with

ledger as (
    select * from {{ source('loader', 'load_ledger') }}
),

current_drops as (
    {% for dataset, relation in dimensions.items() -%}
    select '{{ dataset }}' as dataset, max(drop_date) as drop_date from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

unlanded_files as (
    select
        dataset,
        file_path,
        {{ datawiz.drop_date('file_path') }} as drop_date
    from ledger
    where dataset in ('{{ dimensions.keys() | join("', '") }}')
    group by dataset, file_path
    having max(case when status = 'loaded' then 1 else 0 end) = 0
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
    unlanded_files.dataset,
    unlanded_files.file_path,
    unlanded_files.drop_date as partial_drop_date,
    current_drops.drop_date as current_drop_date,
    latest_reasons.error
from unlanded_files
inner join current_drops on unlanded_files.dataset = current_drops.dataset
left join latest_reasons
    on unlanded_files.file_path = latest_reasons.file_path and latest_reasons.entry_rank = 1
where current_drops.drop_date is null or unlanded_files.drop_date > current_drops.drop_date
