{#- R7: each hierarchy version of a TSR is valid from its effective_from up to (excluding) the
    next version's effective_from; the version without a successor is the current one. Built in
    SQL from the effective dates, not with `dbt snapshot` (broken on StarRocks). -#}
with

hierarchy as (
    select * from {{ ref('stg_landing__tsr_hierarchy') }}
),

ranged as (
    select
        -- keys
        tsr_code,
        effective_from as valid_from,
        lead(effective_from) over (
            partition by tsr_code
            order by effective_from
        ) as valid_to,

        -- hierarchy
        tsr_name,
        territory_code,
        territory_name,
        so_code,
        asm_code,
        region_code,
        zone_code
    from hierarchy
),

final as (
    select
        tsr_code,
        valid_from,
        valid_to,
        tsr_name,
        territory_code,
        territory_name,
        so_code,
        asm_code,
        region_code,
        zone_code,
        valid_to is null as is_current
    from ranged
)

select * from final
