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

by_zone as (
    select
        active_access.user_email,
        active_access.access_level,
        active_access.access_value,
        current_territories.territory_code
    from active_access
    inner join current_territories
        on active_access.access_value = current_territories.zone_code
    where active_access.access_level = 'ZONE'
),

by_region as (
    select
        active_access.user_email,
        active_access.access_level,
        active_access.access_value,
        current_territories.territory_code
    from active_access
    inner join current_territories
        on active_access.access_value = current_territories.region_code
    where active_access.access_level = 'REGION'
),

by_territory as (
    select
        active_access.user_email,
        active_access.access_level,
        active_access.access_value,
        current_territories.territory_code
    from active_access
    inner join current_territories
        on active_access.access_value = current_territories.territory_code
    where active_access.access_level = 'TERRITORY'
),

final as (
    select * from national
    union all
    select * from by_zone
    union all
    select * from by_region
    union all
    select * from by_territory
)

select distinct * from final
