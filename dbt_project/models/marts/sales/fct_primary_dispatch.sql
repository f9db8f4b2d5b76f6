{#- One row per dispatch line (delivery_no, delivery_line): R2 rejects out, R3 latest version,
    R4 material mapping, R5 unknown flags. Incremental; see the model description in
    _sales__models.yml for the design. -#}
{{ config(**datawiz.upsert_config(key=['delivery_no', 'delivery_line'], partition_date='dispatch_date')) }}

{%- set unknown = var('unknown_member') %}

with

lines as (
    select * from {{ ref('int_fid_lines_validated') }}
),

material_codes as (
    select * from {{ ref('int_material_codes_resolved') }}
),

materials as (
    select * from {{ ref('dim_material') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

{% if is_incremental() %}
current_facts as (
    select * from {{ this }}
),
{% endif %}

{{ datawiz.latest_fact_versions(key=['delivery_no', 'delivery_line']) }},

-- dispatches have no doc_type: quantities and values stay as delivered (non-negative)
new_facts as (
    select
        delivery_no,
        delivery_line,
        dispatch_date,
        plant_code,
        distributor_code,
        material_code as source_material_code,
        qty,
        net_value,
        updated_at,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at
    from winners
),

{% if is_incremental() %}
-- facts held are resolved again (mapping, brand, flags; not the version choice) when they have
-- an unknown material or distributor, so that a member added later fixes them, or were enriched
-- under older master data than the current drops, so that after an evening drop the facts
-- equal a full refresh
unresolved_facts as (
    select
        current_facts.delivery_no,
        current_facts.delivery_line,
        current_facts.dispatch_date,
        current_facts.plant_code,
        current_facts.distributor_code,
        current_facts.source_material_code,
        current_facts.qty,
        current_facts.net_value,
        current_facts.updated_at,
        current_facts.source_file,
        current_facts.source_row,
        current_facts._loaded_at
    from current_facts
    left join winners
        on current_facts.delivery_no = winners.delivery_no
        and current_facts.delivery_line = winners.delivery_line
    where winners.delivery_no is null
        and (
            current_facts.is_unknown_material
            or current_facts.is_unknown_customer
            or current_facts._master_data_loaded_at is null
            or current_facts._master_data_loaded_at < {{ datawiz.master_data_loaded_at() }}
        )
),
{% endif %}

to_resolve as (
    select * from new_facts
    {%- if is_incremental() %}

    union all

    select * from unresolved_facts
    {%- endif %}
),

-- R4: the code a remap chain leads to on the dispatch date; an unresolved chain keeps the code
mapped as (
    select
        to_resolve.*,
        case
            when material_codes.is_unresolved or material_codes.source_material_code is null
                then to_resolve.source_material_code
            else material_codes.resolved_material_code
        end as material_code
    from to_resolve
    left join material_codes
        on to_resolve.source_material_code = material_codes.source_material_code
        and {{ datawiz.date_in_range(
            'to_resolve.dispatch_date', 'material_codes.valid_from', 'material_codes.valid_to'
        ) }}
),

final as (
    select
        -- key and date
        mapped.delivery_no,
        mapped.delivery_line,
        mapped.dispatch_date,

        -- codes
        mapped.plant_code,
        mapped.distributor_code,
        mapped.material_code,
        mapped.source_material_code,

        -- R5: brand from the material alone
        case
            when materials.material_code is null then '{{ unknown }}'
            else materials.brand
        end as brand,

        -- measures
        mapped.qty,
        mapped.net_value,

        -- lineage
        mapped.updated_at,
        mapped.source_file,
        mapped.source_row,

        -- R5 flags
        materials.material_code is null as is_unknown_material,
        customers.customer_code is null as is_unknown_customer,

        -- incremental watermark, and the master data this row was enriched with
        mapped._loaded_at,
        {{ datawiz.master_data_loaded_at() }} as _master_data_loaded_at
    from mapped
    left join materials
        on mapped.material_code = materials.material_code
    left join customers
        on mapped.distributor_code = customers.customer_code
)

select * from final
