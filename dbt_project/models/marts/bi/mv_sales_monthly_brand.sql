{#- Monthly secondary sales by zone, region, territory (at the time of sale) and brand: the
    rollup BI dashboards hit constantly. A materialized view on StarRocks, a table built
    incrementally by month on DuckDB (macros/rollups.sql); see _bi__models.yml for why. -#}
{{ config(**datawiz.rollup_config(distributed_by=['territory_code'])) }}
-- depends_on: {{ ref('int_fis_line_months') }}

{%- set unknown = var('unknown_member') %}
{%- set rebuilt = datawiz.sales_months_to_rebuild() if datawiz.is_incremental_build() else none %}

with

-- the columns the rollup needs, of the months this run rebuilds
sales as (
    select
        invoice_date,
        zone_code,
        region_code,
        territory_code,
        brand,
        retailer_code,
        doc_type,
        qty,
        net_amount
    from {{ ref('fct_secondary_sales') }}
    where {{ datawiz.dates_in_months('invoice_date', rebuilt) }}
),

sales_lines as (
    select
        {{ datawiz.month_start('invoice_date') }} as month_start,
        -- the fact sets UNKNOWN already (R5, R7); the coalesce only guards the grain
        coalesce(zone_code, '{{ unknown }}') as zone_code,
        coalesce(region_code, '{{ unknown }}') as region_code,
        coalesce(territory_code, '{{ unknown }}') as territory_code,
        coalesce(brand, '{{ unknown }}') as brand,
        retailer_code,
        doc_type,
        qty,
        net_amount
    from sales
),

-- one row per retailer of a group (lines without a retailer together): a retailer's net in the
-- group decides whether it counts as billed, as in R8
retailer_sales as (
    select
        month_start,
        zone_code,
        region_code,
        territory_code,
        brand,
        retailer_code,
        sum(net_amount) as net_sales,
        sum(qty) as qty,
        count(case when doc_type = 'INV' then 1 end) as invoice_lines
    from sales_lines
    group by month_start, zone_code, region_code, territory_code, brand, retailer_code
),

final as (
    select
        month_start,
        zone_code,
        region_code,
        territory_code,
        brand,
        sum(net_sales) as net_sales,
        sum(qty) as qty,
        cast(sum(invoice_lines) as bigint) as invoice_lines,
        count(case when retailer_code is not null and net_sales > 0 then 1 end)
            as billed_retailers,
        -- when the dbt run that built this row (DuckDB) or the view (StarRocks) started
        {{ datawiz.run_started_at_timestamp() }} as _built_at
    from retailer_sales
    group by month_start, zone_code, region_code, territory_code, brand
)

select * from final
