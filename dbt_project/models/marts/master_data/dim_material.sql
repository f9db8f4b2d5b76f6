{{
    config(
        table_type='DUPLICATE',
        keys=['material_code'],
        distributed_by=['material_code'],
        buckets=1,
    )
}}

with

materials as (
    select * from {{ ref('stg_landing__material_master') }}
),

final as (
    select
        material_code,
        material_desc,
        brand,
        category,
        sub_category,
        pack_size,
        uom,
        mrp,
        is_active,
        updated_at
    from materials
)

select * from final
