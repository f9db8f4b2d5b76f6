{#- One row: the newest `_loaded_at` of the landed master data that enriches the facts. The
    facts record it per row and enrich a held row again once it is older than this (see the
    `sales_fact_incremental_design` doc block). A view: always the live value, a min/max scan. -#}
with

material_master as (
    select _loaded_at from {{ source('landing', 'material_master') }}
),

material_code_map as (
    select _loaded_at from {{ source('landing', 'material_code_map') }}
),

customer_master as (
    select _loaded_at from {{ source('landing', 'customer_master') }}
),

tsr_hierarchy as (
    select _loaded_at from {{ source('landing', 'tsr_hierarchy') }}
),

loads as (
    select max(_loaded_at) as _loaded_at from material_master
    union all
    select max(_loaded_at) as _loaded_at from material_code_map
    union all
    select max(_loaded_at) as _loaded_at from customer_master
    union all
    select max(_loaded_at) as _loaded_at from tsr_hierarchy
),

final as (
    select max(_loaded_at) as master_data_loaded_at
    from loads
)

select * from final
