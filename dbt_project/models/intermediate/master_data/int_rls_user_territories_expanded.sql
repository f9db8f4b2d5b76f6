{#- R9: each active access row expanded to the territories it grants in the CURRENT hierarchy.
    One row per (access row, territory); a row whose value matches nothing yields no row, and so
    does an inactive row (is_active false or null: only an explicit true grants access) or an
    access level outside NATIONAL/ZONE/REGION/TERRITORY. -#}
with

access_rows as (
    select * from {{ ref('stg_landing__rls_user_access') }}
),

hierarchy_versions as (
    select * from {{ ref('int_tsr_hierarchy_versions') }}
),

active_access as (
    select
        user_email,
        access_level,
        access_value
    from access_rows
    where is_active
),

current_territories as (
    select distinct
        territory_code,
        region_code,
        zone_code
    from hierarchy_versions
    where is_current
        and territory_code is not null
),

national as (
    select
        active_access.user_email,
        active_access.access_level,
        active_access.access_value,
        current_territories.territory_code
    from active_access
    cross join current_territories
    where active_access.access_level = 'NATIONAL'
),

{#- ZONE, REGION and TERRITORY grant the territories whose current code at that level equals
    access_value; one CTE per level, all of the same shape -#}
{%- set levels = {'ZONE': 'zone_code', 'REGION': 'region_code', 'TERRITORY': 'territory_code'} %}
{%- for level, column in levels.items() %}

by_{{ level | lower }} as (
    select
        active_access.user_email,
        active_access.access_level,
        active_access.access_value,
        current_territories.territory_code
    from active_access
    inner join current_territories
        on active_access.access_value = current_territories.{{ column }}
    where active_access.access_level = '{{ level }}'
),
{%- endfor %}

final as (
    select * from national
    {%- for level in levels %}
    union all
    select * from by_{{ level | lower }}
    {%- endfor %}
)

select distinct * from final
