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

-- the members an evening build changed (held facts of those are enriched again)
master_data_changes as (
    select * from {{ ref('int_master_data_changes') }}
),

{% if is_incremental() %}
-- what the fact holds, as two imports each read once (one `select *` import read twice would be
-- materialised whole by DuckDB): the version of each key (narrow), which R3 compares with the
-- landed ones, and the held rows, of which a filter picks those to enrich again
held_versions as (
    select delivery_no, delivery_line, updated_at, source_file, source_row, _loaded_at
    from {{ this }}
),

held_facts as (
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

-- held facts of members changed by an evening build since the last build are enriched again
{{ datawiz.facts_to_enrich(
    key=['delivery_no', 'delivery_line'],
    columns=[
        'delivery_no', 'delivery_line', 'dispatch_date', 'plant_code', 'distributor_code',
        'source_material_code', 'qty', 'net_value', 'updated_at', 'source_file', 'source_row',
        '_loaded_at',
    ],
    members={
        'source_material_code': 'material_code',
        'material_code': 'material',
        'distributor_code': 'customer',
    },
) }},

{{ datawiz.mapped_material_codes('dispatch_date') }},

-- the rows this run writes: the winners, and the held facts enriched again
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
        {{ datawiz.master_data_loaded_at() }} as _master_data_loaded_at,

        -- when the run that wrote this row started
        {{ datawiz.run_started_at_timestamp() }} as _built_at
    from mapped
    left join materials
        on mapped.material_code = materials.material_code
    left join customers
        on mapped.distributor_code = customers.customer_code
)

select * from final
{{ datawiz.clustered_by('dispatch_date') }}
