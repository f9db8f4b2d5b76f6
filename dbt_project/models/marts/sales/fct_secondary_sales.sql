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

-- the members an evening build changed (held facts of those are enriched again)
master_data_changes as (
    select * from {{ ref('int_master_data_changes') }}
),

{% if is_incremental() %}
-- what the fact holds, as two imports each read once (one `select *` import read twice would be
-- materialised whole by DuckDB): the version of each key (narrow), which R3 compares with the
-- landed ones, and the held rows, of which a filter picks those to enrich again
held_versions as (
    select invoice_no, invoice_line, updated_at, source_file, source_row, _loaded_at
    from {{ this }}
),

held_facts as (
    select * from {{ this }}
),
{% endif %}

{{ datawiz.latest_fact_versions(key=['invoice_no', 'invoice_line']) }},

-- R6: credit notes reduce sales
new_facts as (
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

-- held facts of members changed by an evening build since the last build are enriched again
{{ datawiz.facts_to_enrich(
    key=['invoice_no', 'invoice_line'],
    columns=[
        'invoice_no', 'invoice_line', 'invoice_date', 'doc_type', 'distributor_code',
        'retailer_code', 'source_material_code', 'tsr_code', 'qty', 'gross_amount',
        'discount_amount', 'tax_amount', 'net_amount', 'updated_at', 'source_file',
        'source_row', '_loaded_at',
    ],
    members={
        'source_material_code': 'material_code',
        'material_code': 'material',
        'retailer_code': 'customer',
        'tsr_code': 'tsr',
    },
) }},

{{ datawiz.mapped_material_codes('invoice_date') }},

-- the rows this run writes: the winners, and the held facts enriched again
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
        {{ datawiz.master_data_loaded_at() }} as _master_data_loaded_at,

        -- when the run that wrote this row started
        {{ datawiz.run_started_at_timestamp() }} as _built_at
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
{{ datawiz.clustered_by('invoice_date') }}
