{{
    config(
        table_type='DUPLICATE',
        keys=['constant_key'],
        distributed_by=['constant_key'],
        buckets=1,
    )
}}

with

sales as (
    select * from {{ ref('fct_secondary_sales') }}
),

dispatches as (
    select * from {{ ref('fct_primary_dispatch') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

latest_invoice as (
    select max(invoice_date) as latest_invoice_date
    from sales
),

latest_dispatch as (
    select max(dispatch_date) as latest_dispatch_date
    from dispatches
),

active_customers as (
    select
        count(case when customer_type = 'RETAILER' and is_active then 1 end) as active_retailers,
        count(case when customer_type = 'DISTRIBUTOR' and is_active then 1 end)
            as active_distributors
    from customers
),

constants as (
    select
        'latest_invoice_date' as constant_key,
        {{ datawiz.date_to_iso('latest_invoice_date') }} as constant_value
    from latest_invoice

    union all

    select
        'latest_dispatch_date' as constant_key,
        {{ datawiz.date_to_iso('latest_dispatch_date') }} as constant_value
    from latest_dispatch

    union all

    select
        'current_fiscal_year' as constant_key,
        {{ datawiz.fiscal_year_label('latest_invoice_date') }} as constant_value
    from latest_invoice

    union all

    select
        'active_retailers' as constant_key,
        {{ datawiz.to_text('active_retailers') }} as constant_value
    from active_customers

    union all

    select
        'active_distributors' as constant_key,
        {{ datawiz.to_text('active_distributors') }} as constant_value
    from active_customers
),

final as (
    select
        {{ datawiz.to_text('constant_key') }} as constant_key,
        {{ datawiz.to_text('constant_value') }} as constant_value
    from constants
)

select * from final
