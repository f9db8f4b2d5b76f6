{#- One row per invoice line (invoice_no, invoice_line): R2 rejects out, R3 latest version,
    R4 material mapping, R5 unknown flags, R6 signs, R7 territory at the time of sale.
    Incremental; see the model description in _sales__models.yml for the design. -#}
{{ config(**datawiz.upsert_config(key=['invoice_no', 'invoice_line'], partition_date='invoice_date')) }}

{%- set unknown = var('unknown_member') %}

with

lines as (
    select * from {{ ref('int_fis_lines_validated') }}
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

tsr_hierarchy as (
    select * from {{ ref('dim_tsr_hierarchy') }}
),

{% if is_incremental() %}
current_facts as (
    select * from {{ this }}
),
{% endif %}

{{ datawiz.latest_fact_versions(key=['invoice_no', 'invoice_line']) }},

-- R6: credit notes reduce sales
signed_winners as (
    select
        invoice_no,
        invoice_line,
        invoice_date,
        doc_type,
        distributor_code,
        retailer_code,
        material_code as source_material_code,
        tsr_code,
        {{ datawiz.signed_by_doc_type('qty') }} as qty,
        {{ datawiz.signed_by_doc_type('gross_amount') }} as gross_amount,
        {{ datawiz.signed_by_doc_type('discount_amount') }} as discount_amount,
        {{ datawiz.signed_by_doc_type('tax_amount') }} as tax_amount,
        {{ datawiz.signed_by_doc_type('net_amount') }} as net_amount,
        updated_at,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at
    from winners
),

{% if is_incremental() %}
-- facts held are resolved again (mapping, brand, flags, territory; not the version choice) when
-- they have an unknown material, customer or territory, so that a member added later fixes
-- them, or were enriched under older master data than the current drops, so that after an
-- evening drop the facts equal a full refresh (amounts are already signed)
unresolved_facts as (
    select
        current_facts.invoice_no,
        current_facts.invoice_line,
        current_facts.invoice_date,
        current_facts.doc_type,
        current_facts.distributor_code,
        current_facts.retailer_code,
        current_facts.source_material_code,
        current_facts.tsr_code,
        current_facts.qty,
        current_facts.gross_amount,
        current_facts.discount_amount,
        current_facts.tax_amount,
        current_facts.net_amount,
        current_facts.updated_at,
        current_facts.source_file,
        current_facts.source_row,
        current_facts._loaded_at
    from current_facts
    left join winners
        on current_facts.invoice_no = winners.invoice_no
        and current_facts.invoice_line = winners.invoice_line
    where winners.invoice_no is null
        and (
            current_facts.is_unknown_material
            or current_facts.is_unknown_customer
            or current_facts.territory_code = '{{ unknown }}'
            or current_facts._master_data_loaded_at is null
            or current_facts._master_data_loaded_at < {{ datawiz.master_data_loaded_at() }}
        )
),
{% endif %}

to_resolve as (
    select * from signed_winners
    {%- if is_incremental() %}

    union all

    select * from unresolved_facts
    {%- endif %}
),

-- R4: the code a remap chain leads to on the invoice date; an unresolved chain keeps the code
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
            'to_resolve.invoice_date', 'material_codes.valid_from', 'material_codes.valid_to'
        ) }}
),

final as (
    select
        -- key and date
        mapped.invoice_no,
        mapped.invoice_line,
        mapped.invoice_date,

        -- codes
        mapped.doc_type,
        mapped.distributor_code,
        mapped.retailer_code,
        mapped.material_code,
        mapped.source_material_code,
        mapped.tsr_code,

        -- R7: the hierarchy version in force on the invoice date
        case
            when tsr_hierarchy.tsr_code is null then '{{ unknown }}'
            else tsr_hierarchy.territory_code
        end as territory_code,
        case
            when tsr_hierarchy.tsr_code is null then '{{ unknown }}'
            else tsr_hierarchy.region_code
        end as region_code,
        case
            when tsr_hierarchy.tsr_code is null then '{{ unknown }}'
            else tsr_hierarchy.zone_code
        end as zone_code,

        -- R5: brand from the material alone
        case
            when materials.material_code is null then '{{ unknown }}'
            else materials.brand
        end as brand,

        -- measures (signed, R6)
        mapped.qty,
        mapped.gross_amount,
        mapped.discount_amount,
        mapped.tax_amount,
        mapped.net_amount,

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
        on mapped.retailer_code = customers.customer_code
    left join tsr_hierarchy
        on mapped.tsr_code = tsr_hierarchy.tsr_code
        and {{ datawiz.date_in_range(
            'mapped.invoice_date', 'tsr_hierarchy.valid_from', 'tsr_hierarchy.valid_to'
        ) }}
)

select * from final
