{#- R8 by month, territory and brand. Incremental by month on DuckDB (macros/monthly.sql): a run
    rebuilds the months the fact changed in, and the same months a year later (their `_ly`
    columns read the changed month); see the model description for why. -#}
{{ config(**datawiz.monthly_mart_config(
    keys=['month_start', 'territory_code', 'brand'],
    distributed_by=['territory_code'],
)) }}
-- depends_on: {{ ref('int_fis_line_months') }}
-- depends_on: {{ ref('int_master_data_changes') }}

{%- if datawiz.is_incremental_build() %}
    {%- set changed = datawiz.sales_months_to_rebuild(universe=true) %}
    {%- set rebuilt = none if changed is none else changed + datawiz.shift_months(changed, 12) %}
    {#- a rebuilt month reads its own sales and those of a year earlier -#}
    {%- set read = none if rebuilt is none else rebuilt + datawiz.shift_months(rebuilt, -12) %}
{%- else %}
    {%- set rebuilt, read = none, none %}
{%- endif %}

with

-- the columns R8 needs, of the months this run reads
sales as (
    select
        invoice_date,
        territory_code,
        brand,
        retailer_code,
        doc_type,
        net_amount
    from {{ ref('fct_secondary_sales') }}
    where {{ datawiz.dates_in_months('invoice_date', read) }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

sales_lines as (
    select
        {{ datawiz.month_start('invoice_date') }} as month_start,
        -- the fact sets UNKNOWN already (R5, R7); the coalesce only guards the grain
        coalesce(territory_code, '{{ var("unknown_member") }}') as territory_code,
        coalesce(brand, '{{ var("unknown_member") }}') as brand,
        retailer_code,
        doc_type,
        net_amount
    from sales
),

monthly_sales as (
    select
        month_start,
        territory_code,
        brand,
        sum(net_amount) as net_sales,
        sum(case when doc_type = 'INV' then 1 else 0 end) as invoice_lines
    from sales_lines
    group by month_start, territory_code, brand
),

retailer_net_sales as (
    select
        month_start,
        territory_code,
        brand,
        retailer_code,
        sum(net_amount) as retailer_net_sales
    from sales_lines
    where retailer_code is not null
    group by month_start, territory_code, brand, retailer_code
),

billed as (
    select
        month_start,
        territory_code,
        brand,
        count(*) as billed_outlets
    from retailer_net_sales
    where retailer_net_sales > 0
    group by month_start, territory_code, brand
),

-- dim_customer.territory_code is the territory of the customer's TSR in the current hierarchy
universe as (
    select
        territory_code,
        count(*) as universe_outlets
    from customers
    where customer_type = 'RETAILER'
        and is_active
        and territory_code is not null
    group by territory_code
),

joined as (
    select
        monthly_sales.month_start,
        monthly_sales.territory_code,
        monthly_sales.brand,
        monthly_sales.net_sales,
        monthly_sales.invoice_lines,
        coalesce(billed.billed_outlets, 0) as billed_outlets,
        case
            when monthly_sales.territory_code = '{{ var("unknown_member") }}' then 0
            else coalesce(universe.universe_outlets, 0)
        end as universe_outlets,
        last_year.net_sales as net_sales_ly
    from monthly_sales
    left join billed
        on monthly_sales.month_start = billed.month_start
        and monthly_sales.territory_code = billed.territory_code
        and monthly_sales.brand = billed.brand
    left join universe
        on monthly_sales.territory_code = universe.territory_code
    left join monthly_sales as last_year
        on last_year.month_start = {{ datawiz.add_months('monthly_sales.month_start', -12) }}
        and monthly_sales.territory_code = last_year.territory_code
        and monthly_sales.brand = last_year.brand
),

final as (
    select
        month_start,
        territory_code,
        brand,
        net_sales,
        invoice_lines,
        billed_outlets,
        universe_outlets,
        {{ datawiz.round_ratio_half_away_from_zero('100 * billed_outlets', 'universe_outlets', 2) }}
            as numeric_distribution_pct,
        net_sales_ly,
        case
            when net_sales_ly > 0
                then {{ datawiz.round_ratio_half_away_from_zero(
                    '100 * cast((net_sales - net_sales_ly) * 100 as bigint)',
                    'cast(net_sales_ly * 100 as bigint)',
                    2,
                ) }}
        end as growth_pct,
        -- when the run that built this row started (the incremental watermark)
        {{ datawiz.run_started_at_timestamp() }} as _built_at
    from joined
    where {{ datawiz.in_months('month_start', rebuilt) }}
)

select * from final
