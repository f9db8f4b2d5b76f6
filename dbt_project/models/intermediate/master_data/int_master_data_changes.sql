{#- The members of the master data that changed, one row per member and kind, as of the last
    build: what a fact or the distribution-depth mart read of a member is new since.
    Incremental: each build compares a fingerprint of every member with the one held and writes
    the members whose fingerprint differs (new, changed, or gone: a null fingerprint), with
    `_built_at`. A morning enriches again only the held facts of the members written since the
    fact's own last build (macros/master_data_changes.sql), instead of every fact after every
    evening. The first build (or a full refresh) writes every member and an `all` row:
    everything is pending. Built by the evening build after the dimensions, and by the morning
    build before the facts: dimensions rebuilt by an evening build that failed before this
    model are recorded before any fact is enriched with them (a dimension rebuilt by hand must
    be built with this model). See the `sales_fact_incremental_design` doc block. -#}
{{ config(
    pre_hook=["{{ datawiz.long_text_agg_session() }}"],
    **datawiz.upsert_config(key=['member_kind', 'member_code'], buckets=1)
) }}

with

material_codes as (
    select * from {{ ref('int_material_codes_resolved') }}
),

materials as (
    select * from {{ ref('dim_material') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

tsr_hierarchy as (
    select * from {{ ref('dim_tsr_hierarchy') }}
),

master_data_loads as (
    select * from {{ ref('int_master_data_loads') }}
),

{% if is_incremental() -%}
held as (
    select member_kind, member_code, fingerprint
    from {{ this }}
),
{%- endif %}

-- each member with what a fact's enrichment or the mart's universe reads of it
members as (
    -- R4: the resolution ranges of a delivered material code
    select
        'material_code' as member_kind,
        source_material_code as member_code,
        {{ datawiz.member_fingerprint(
            ['valid_from', 'valid_to', 'resolved_material_code', 'is_unresolved'], 'valid_from'
        ) }} as fingerprint
    from material_codes
    group by source_material_code

    union all

    -- R5: that a material exists, and its brand
    select
        'material' as member_kind,
        material_code as member_code,
        {{ datawiz.member_fingerprint(['brand'], 'brand') }} as fingerprint
    from materials
    group by material_code

    union all

    -- R5: that a customer exists
    select
        'customer' as member_kind,
        customer_code as member_code,
        {{ datawiz.member_fingerprint(['customer_code'], 'customer_code') }} as fingerprint
    from customers
    group by customer_code

    union all

    -- R7: a TSR's hierarchy versions
    select
        'tsr' as member_kind,
        tsr_code as member_code,
        {{ datawiz.member_fingerprint(
            ['valid_from', 'valid_to', 'territory_code', 'region_code', 'zone_code'], 'valid_from'
        ) }} as fingerprint
    from tsr_hierarchy
    group by tsr_code

    union all

    -- R8: a territory's universe (active retailers of the current master)
    select
        'universe' as member_kind,
        territory_code as member_code,
        {{ datawiz.to_text('count(*)') }} as fingerprint
    from customers
    where customer_type = 'RETAILER'
        and is_active
        and territory_code is not null
    group by territory_code
),

changed as (
    {% if is_incremental() -%}
    -- new or changed
    select
        members.member_kind,
        members.member_code,
        members.fingerprint
    from members
    left join held
        on members.member_kind = held.member_kind
        and members.member_code = held.member_code
    where held.fingerprint is null
        or held.fingerprint <> members.fingerprint

    union all

    -- gone from the master data (a null fingerprint, so that its return is a change again)
    select
        held.member_kind,
        held.member_code,
        cast(null as {{ dbt.type_string() }}) as fingerprint
    from held
    left join members
        on held.member_kind = members.member_kind
        and held.member_code = members.member_code
    where members.member_code is null
        and held.fingerprint is not null
    {%- else -%}
    select * from members

    union all

    -- a first build (or full refresh) cannot tell which members changed or went since the
    -- facts were enriched: this row makes the next builds enrich every held fact again
    select
        'all' as member_kind,
        '*' as member_code,
        cast(null as {{ dbt.type_string() }}) as fingerprint
    {%- endif %}
),

final as (
    select
        changed.member_kind,
        changed.member_code,
        changed.fingerprint,
        -- the master data the change was seen in
        master_data_loads.master_data_loaded_at,
        -- when the run that recorded the change started
        {{ datawiz.run_started_at_timestamp() }} as _built_at
    from changed
    cross join master_data_loads
)

select * from final
