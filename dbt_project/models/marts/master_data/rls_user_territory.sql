{{
    config(
        table_type='DUPLICATE',
        keys=['user_email', 'territory_code'],
        distributed_by=['user_email'],
        buckets=1,
    )
}}

with

expanded as (
    select * from {{ ref('int_rls_user_territories_expanded') }}
),

final as (
    select distinct
        user_email,
        territory_code
    from expanded
)

select * from final
