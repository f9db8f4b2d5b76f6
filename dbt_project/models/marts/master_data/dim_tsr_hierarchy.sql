{{
    config(
        table_type='DUPLICATE',
        keys=['tsr_code', 'valid_from'],
        distributed_by=['tsr_code'],
        buckets=1,
    )
}}

with

versions as (
    select * from {{ ref('int_tsr_hierarchy_versions') }}
),

final as (
    select
        tsr_code,
        valid_from,
        valid_to,
        is_current,
        tsr_name,
        territory_code,
        territory_name,
        so_code,
        asm_code,
        region_code,
        zone_code
    from versions
)

select * from final
