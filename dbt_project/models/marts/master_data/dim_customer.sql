{{
    config(
        table_type='DUPLICATE',
        keys=['customer_code'],
        distributed_by=['customer_code'],
        buckets=1,
    )
}}

with

customers as (
    select * from {{ ref('stg_landing__customer_master') }}
),

hierarchy_versions as (
    select * from {{ ref('int_tsr_hierarchy_versions') }}
),

current_hierarchy as (
    select
        tsr_code,
        territory_code
    from hierarchy_versions
    where is_current
),

final as (
    select
        customers.customer_code,
        customers.customer_name,
        customers.customer_type,
        customers.distributor_code,
        customers.tsr_code,
        current_hierarchy.territory_code,
        customers.city,
        customers.state,
        customers.pincode,
        customers.channel,
        customers.is_active,
        customers.updated_at
    from customers
    left join current_hierarchy
        on customers.tsr_code = current_hierarchy.tsr_code
)

select * from final
