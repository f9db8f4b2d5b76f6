{#- R4: where each remapped material code leads, and from when to when.

    The mappings that apply to a fact dated d are those with effective_from <= d; of several for
    one old code, the latest effective one. The set of applicable mappings therefore only changes
    on the distinct effective_from dates of the whole map, so the dates between two consecutive
    ones form ranges in which every code's resolution is constant. For each old code and range
    the chain old -> new -> newer is followed hop by hop (StarRocks has no recursive CTE: the hops
    are unrolled with a Jinja loop), at most var('material_map_max_hops') hops. One hop more is
    taken to see whether the chain ends there: if it does not (a cycle, or a chain running into
    one, or simply too long) the code stays unmapped (`is_unresolved`, reported by a warn test).
    Consecutive ranges with the same outcome are merged. -#}
{{
    config(
        materialized='table',
        table_type='DUPLICATE',
        keys=['source_material_code', 'valid_from'],
        distributed_by=['source_material_code'],
        buckets=1,
    )
}}

{%- set max_hops = var('material_map_max_hops') | int %}

with

code_map as (
    select * from {{ ref('stg_landing__material_code_map') }}
),

-- R4: a mapping row with a null code or date is ignored
mappings as (
    select
        old_material_code,
        new_material_code,
        effective_from
    from code_map
    where old_material_code is not null
        and new_material_code is not null
        and effective_from is not null
),

change_dates as (
    select distinct effective_from as valid_from
    from mappings
),

date_ranges as (
    select
        valid_from,
        lead(valid_from) over (order by valid_from) as valid_to
    from change_dates
),

-- in each date range, an old code follows the latest mapping effective on the range's first day
ranked_mappings as (
    select
        date_ranges.valid_from,
        date_ranges.valid_to,
        mappings.old_material_code,
        mappings.new_material_code,
        row_number() over (
            partition by date_ranges.valid_from, mappings.old_material_code
            order by mappings.effective_from desc
        ) as mapping_rank
    from date_ranges
    inner join mappings
        on mappings.effective_from <= date_ranges.valid_from
),

edges as (
    select
        valid_from,
        valid_to,
        old_material_code,
        new_material_code
    from ranked_mappings
    where mapping_rank = 1
),

hop_1 as (
    select
        valid_from,
        valid_to,
        old_material_code as source_material_code,
        new_material_code as reached_code,
        1 as hop_count
    from edges
),

{#- hop max_hops + 1 only tells whether the chain has ended within max_hops #}
{%- for hop in range(2, max_hops + 2) %}

hop_{{ hop }} as (
    select
        previous_hop.valid_from,
        previous_hop.valid_to,
        previous_hop.source_material_code,
        coalesce(edges.new_material_code, previous_hop.reached_code) as reached_code,
        previous_hop.hop_count
            + case when edges.old_material_code is null then 0 else 1 end as hop_count
    from hop_{{ hop - 1 }} as previous_hop
    left join edges
        on previous_hop.valid_from = edges.valid_from
        and previous_hop.reached_code = edges.old_material_code
),
{%- endfor %}

outcomes as (
    select
        source_material_code,
        valid_from,
        valid_to,
        case when hop_count <= {{ max_hops }} then reached_code end as resolved_material_code,
        case when hop_count <= {{ max_hops }} then hop_count end as hop_count
    from hop_{{ max_hops + 1 }}
),

-- merge consecutive ranges of a code with the same outcome (gaps and islands)
with_previous as (
    select
        *,
        row_number() over (
            partition by source_material_code order by valid_from
        ) as range_number,
        lag(resolved_material_code) over (
            partition by source_material_code order by valid_from
        ) as previous_resolved_code,
        lag(hop_count) over (
            partition by source_material_code order by valid_from
        ) as previous_hop_count
    from outcomes
),

outcome_changes as (
    select
        *,
        case
            when range_number = 1 then 1
            when coalesce(resolved_material_code, '') = coalesce(previous_resolved_code, '')
                and coalesce(hop_count, -1) = coalesce(previous_hop_count, -1) then 0
            else 1
        end as starts_island
    from with_previous
),

islands as (
    select
        *,
        sum(starts_island) over (
            partition by source_material_code
            order by valid_from
            rows between unbounded preceding and current row
        ) as island
    from outcome_changes
),

final as (
    select
        source_material_code,
        min(valid_from) as valid_from,
        -- an island that reaches the open-ended last range is open-ended too
        case when count(valid_to) = count(*) then max(valid_to) end as valid_to,
        max(resolved_material_code) as resolved_material_code,
        max(hop_count) as hop_count,
        max(resolved_material_code) is null as is_unresolved
    from islands
    group by source_material_code, island
)

select * from final
