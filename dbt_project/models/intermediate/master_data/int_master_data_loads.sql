{#- One row: the newest `_loaded_at` of the landed master data that enriches the facts, as of the
    evening build that built the dimensions from it. The facts record it on every row they
    enrich (lineage; which held rows are enriched again is decided by int_master_data_changes,
    see the `sales_fact_incremental_design` doc block).

    A table built after the dimensions and the resolved code map (the `depends_on` lines), not a
    view of the raw tables: when a master drop has landed but the evening build failed before
    the dimensions were rebuilt, this still says the older load time, so a morning run does not
    stamp facts with a drop they were not enriched with. -#}
-- depends_on: {{ ref('dim_material') }}
-- depends_on: {{ ref('dim_customer') }}
-- depends_on: {{ ref('dim_tsr_hierarchy') }}
-- depends_on: {{ ref('int_material_codes_resolved') }}
{{
    config(
        materialized='table',
        table_type='DUPLICATE',
        keys=['master_data_loaded_at'],
        distributed_by=['master_data_loaded_at'],
        buckets=1,
    )
}}

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
